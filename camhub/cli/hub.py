"""``camhub hub``: receive frames from every sender and serve the dashboard."""

from __future__ import annotations

import argparse
import os
import threading
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from camhub.config import HubConfig, load_config
from camhub.detect.config import DetectConfig
from camhub.display import MODES
from camhub.distributed.cli import add_ray_options, ray_options
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
    add_detect_options(parser)
    add_security_args(parser, role="hub")
    parser.set_defaults(func=run)


def add_detect_options(parser: argparse.ArgumentParser) -> None:
    det = parser.add_argument_group("object detection")
    det.add_argument(
        "--detect",
        metavar="LABELS",
        help="detect and track these objects on every camera, e.g. person,car,dog "
        "(built-in model: the 80 COCO classes; 'all' for every label)",
    )
    det.add_argument("--model", metavar="FILE", help="your own ONNX detector (YOLOv5/v8/11 export)")
    det.add_argument(
        "--labels", metavar="FILE", help="labels of --model, one per line (default: its metadata)"
    )
    det.add_argument(
        "--detect-fps", metavar="N", type=float, help="looks per second per camera (default 5)"
    )
    det.add_argument(
        "--detect-workers", metavar="N", type=int, help="detector worker processes (default 1)"
    )
    det.add_argument(
        "--no-motion-gate",
        action="store_true",
        help="run the detector on every look, not only where something moves",
    )
    add_ray_options(det)


def detect_config(args: argparse.Namespace, base: DetectConfig | None) -> DetectConfig | None:
    """The config file's [detect] section with the command line's options on top."""
    given = {
        "labels": None
        if args.detect is None
        else (
            []
            if args.detect.strip() == "all"
            else [x.strip() for x in args.detect.split(",") if x.strip()]
        ),
        "model": args.model,
        "labels_file": args.labels,
        "detect_fps": args.detect_fps,
        "workers": args.detect_workers,
        "motion_gated": False if args.no_motion_gate else None,
    }
    changes = {k: v for k, v in given.items() if v is not None}
    if base is None and args.detect is None:
        if changes:
            raise OptionError(
                "--model/--labels/--detect-* need --detect LABELS (or a [detect] section)"
            )
        return None
    try:
        cfg = DetectConfig.model_validate({**(base or DetectConfig()).model_dump(), **changes})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise OptionError(f"detection option {where}: {first['msg']}") from None
    return cfg if cfg.enabled else None


def run(args: argparse.Namespace) -> int:
    fleet = load_config(args.config) if args.config else None
    hub_cfg = fleet.hub if fleet is not None else HubConfig()
    if args.web is None:
        args.web = hub_cfg.web
    detect = detect_config(args, None if fleet is None else fleet.detect)
    if args.detect_on == "ray" and detect is None:
        raise OptionError("--detect-on ray needs --detect LABELS (or a [detect] section)")
    options = ServiceOptions(
        bind=args.bind or [hub_cfg.bind],
        display=args.display,
        offline_after=hub_cfg.offline_after if args.offline_after is None else args.offline_after,
        processors=parse_processors(args.processor),
        status_every=args.status_every,
        security=security_from_args(args),
        detect=detect,
        detect_on=ray_options(args),
        **web_options(args),
    )
    service = HubService(options)
    stop = threading.Event()
    with stop_on_signals(stop):
        service.start()
        try:
            if service.url:
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
