"""``camhub hub``: receive frames from every sender and serve the dashboard."""

from __future__ import annotations

import argparse
import os
import threading
from pathlib import Path
from typing import Any

from camhub.config import HubConfig, load_config
from camhub.display import MODES
from camhub.phones import qr
from camhub.phones.setup import DEFAULT_PHONES_WEB
from camhub.processing import processor_types
from camhub.security import add_security_args, security_from_args
from camhub.service import (
    HubService,
    OptionError,
    ServiceOptions,
    parse_processors,
)
from camhub.signals import stop_on_signals
from camhub.web import DEFAULT_WEB

TOKEN_ENV = "CAMHUB_WEB_TOKEN"


def add_web_options(parser: argparse.ArgumentParser) -> None:
    web = parser.add_argument_group("dashboard")
    web.add_argument(
        "--web",
        metavar="HOST:PORT",
        default=None,
        help=f"where the browser dashboard listens (default {DEFAULT_WEB}; "
        "port 0 picks a free one)",
    )
    web.add_argument("--no-web", action="store_true", help="run without the dashboard")
    web.add_argument(
        "--web-expose",
        action="store_true",
        help="allow a non-loopback --web address (e.g. 0.0.0.0:8000); then a "
        f"token is required, from ${TOKEN_ENV} or --web-token-file",
    )
    web.add_argument(
        "--web-token-file",
        metavar="FILE",
        type=Path,
        help="file whose first line is the dashboard token",
    )
    web.add_argument("--tls-cert", metavar="FILE", help="serve HTTPS with this certificate (PEM)")
    web.add_argument("--tls-key", metavar="FILE", help="private key of --tls-cert (PEM)")


def read_token(args: argparse.Namespace) -> str | None:
    if args.web_token_file is not None:
        try:
            path: Path = args.web_token_file
            token = path.read_text().strip().splitlines()
        except OSError as exc:
            raise OptionError(f"cannot read --web-token-file: {exc.strerror or exc}") from None
        if not token or not token[0].strip():
            raise OptionError(f"--web-token-file {args.web_token_file} is empty")
        return token[0].strip()
    return os.environ.get(TOKEN_ENV) or None


def web_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "web": None if args.no_web else args.web,
        "web_expose": args.web_expose,
        "web_token": read_token(args),
        "tls_cert": args.tls_cert,
        "tls_key": args.tls_key,
    }


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "hub",
        help="receive frames from senders; serve the live dashboard",
        description="Receive frames from every sender (camhub or imagezmq) and show them in "
        "a browser dashboard, an OpenCV window or both. Stop with Ctrl-C.",
        epilog="example: camhub hub --bind tcp://*:5555 --web 127.0.0.1:8000 --processor motion",
    )
    parser.add_argument(
        "--bind",
        metavar="ADDRESS",
        action="append",
        help="ZeroMQ address to receive on (repeatable; default tcp://*:5555)",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="TOML/YAML fleet file; its [hub] section (bind, web, offline_after) sets the "
        "defaults, and options given here win",
    )
    add_web_options(parser)
    parser.add_argument(
        "--display",
        choices=MODES,
        default="none",
        help="also show frames on this machine's desktop: one window per "
        "camera, or one montage window (needs a GUI build of OpenCV)",
    )
    parser.add_argument(
        "--offline-after",
        metavar="S",
        type=float,
        default=None,
        help="mark a camera offline after S seconds without frames (default 5)",
    )
    parser.add_argument(
        "--processor",
        metavar="TYPE[:CAMS]",
        action="append",
        default=[],
        help="run a processor on every camera, or on a comma-separated list "
        f"(known: {', '.join(processor_types())}); repeatable",
    )
    parser.add_argument(
        "--status-every",
        metavar="S",
        type=float,
        default=10.0,
        help="log a status line per camera every S seconds (0: never)",
    )
    phones = parser.add_argument_group("browser cameras (phones)")
    phones.add_argument(
        "--phones",
        action="store_true",
        help="let phones stream from their browser: serve HTTPS on the LAN "
        f"(default --web {DEFAULT_PHONES_WEB}) with a self-signed certificate unless "
        "--tls-cert is given, and print a join link and QR code",
    )
    phones.add_argument(
        "--phones-dir",
        metavar="DIR",
        help="where the certificate, pairing code, devices and dashboard token are kept "
        "(default: $XDG_DATA_HOME/camhub/phones)",
    )
    phones.add_argument(
        "--phones-host",
        metavar="HOST",
        help="host name or address in the join link (default: this machine's LAN address)",
    )
    add_security_args(parser, role="hub")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    hub_cfg = load_config(args.config).hub if args.config else HubConfig()
    if args.web is None:
        args.web = DEFAULT_PHONES_WEB if args.phones else hub_cfg.web
    options = ServiceOptions(
        bind=args.bind or [hub_cfg.bind],
        display=args.display,
        offline_after=hub_cfg.offline_after if args.offline_after is None else args.offline_after,
        processors=parse_processors(args.processor),
        status_every=args.status_every,
        security=security_from_args(args),
        phones=args.phones,
        phones_dir=args.phones_dir,
        phones_host=args.phones_host,
        **web_options(args),
    )
    service = HubService(options)
    stop = threading.Event()
    with stop_on_signals(stop):
        service.start()
        try:
            if service.join_url:
                print_join(service)
            elif service.url:
                print(f"camhub hub: dashboard at {service.url}", flush=True)
            print(
                f"camhub hub: receiving on {', '.join(service.hub.endpoints)}"  # type: ignore[union-attr]
                " (Ctrl-C to stop)",
                flush=True,
            )
            service.run(stop)
        finally:
            service.stop()
    print("camhub hub: stopped", flush=True)
    return 0


def print_join(service: HubService) -> None:
    """The join link and its QR code, and the dashboard link with its token."""
    setup, web = service.phone_setup, service.web
    assert setup is not None and web is not None and service.join_url is not None
    print(qr.terminal(service.join_url), end="")
    print(f"camhub hub: phones join at {service.join_url}", flush=True)
    print(f"camhub hub: dashboard at {setup.dashboard_url(web.port)}", flush=True)
    if not setup.own_certificate:
        print(
            "camhub hub: the certificate is self-signed: each phone shows a warning once "
            "(see docs/phone.md)",
            flush=True,
        )
