"""``camhub hub``: receive frames from every sender and serve the dashboard."""

from __future__ import annotations

import argparse
import os
import threading
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from camhub.agent import CameraJob
from camhub.cli.send import job_from_config
from camhub.config import FleetConfig, load_config, record_settings
from camhub.datadir import default_data_dir
from camhub.detect.config import DetectConfig
from camhub.detect.labels import UnknownLabel
from camhub.display import MODES
from camhub.distributed.cli import add_ray_options, ray_options
from camhub.notify.setup import mqtt_from_options, webhooks_from_options
from camhub.phones import qr
from camhub.phones.setup import DEFAULT_PHONES_WEB
from camhub.processing import processor_types
from camhub.puller import pull_names
from camhub.record.settings import RECORD_MODES
from camhub.security import add_security_args, security_from_args
from camhub.service import (
    HubService,
    OptionError,
    ServiceOptions,
    parse_processors,
)
from camhub.signals import stop_on_signals
from camhub.sources import parse_source
from camhub.types import CamhubError
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
        epilog="examples:\n"
        "  camhub hub --bind 'tcp://*:5555' --web 127.0.0.1:8000 --processor motion\n"
        "  camhub hub ipwebcam://192.168.1.23 rtsp://admin:pw@192.168.1.30/stream1\n"
        "      (the hub reads these cameras itself; senders can still push others)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "cameras",
        nargs="*",
        metavar="CAMERA_URL",
        help="cameras the hub reads itself, with the same sources as camhub send "
        "(ipwebcam://HOST, droidcam://HOST, rtsp://..., http://.../video, 0, testsrc...)",
    )
    parser.add_argument(
        "--name",
        action="append",
        help="name of a CAMERA_URL camera (once per CAMERA_URL, in order; default: its host)",
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
        "defaults, and options given here win; its cameras with pull = true are read by "
        "the hub, the others are listed as expected from camhub send",
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
    add_record_options(parser)
    add_notify_options(parser)
    add_detect_options(parser)
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


def pulled_jobs(args: argparse.Namespace, config: FleetConfig | None) -> list[CameraJob]:
    """Cameras the hub reads itself: the fleet file's ``pull = true`` ones, then the
    command line's CAMERA_URLs."""
    jobs: list[CameraJob] = []
    if config is not None:
        pulled = [c for c in config.cameras if c.pull]
        auto = iter(pull_names([c.source for c in pulled if c.name is None]))
        jobs += [job_from_config(c, c.name or next(auto)) for c in pulled]
    for source in args.cameras:
        parse_source(source)  # a malformed URL fails now, before anything listens
    names: list[str] = args.name or []
    if names and len(names) != len(args.cameras):
        raise CamhubError(
            f"got {len(names)} --name options for {len(args.cameras)} CAMERA_URLs; "
            "give one per CAMERA_URL"
        )
    names = names or pull_names(args.cameras)
    jobs += [CameraJob(name, source) for name, source in zip(names, args.cameras, strict=True)]
    return jobs


def add_record_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("events and recording")
    group.add_argument(
        "--data",
        metavar="DIR",
        type=Path,
        help="where events and recordings are kept (default: [hub] data in --config, "
        f"else {default_data_dir()})",
    )
    group.add_argument(
        "--no-data",
        action="store_true",
        help="keep nothing: no event history, no recording (events still reach notifiers)",
    )
    group.add_argument(
        "--record",
        choices=RECORD_MODES,
        help="record every camera: off, events (pre_roll before an event to post_roll "
        "after it) or continuous; per-camera settings in --config win (default off)",
    )
    group.add_argument(
        "--keep-days",
        metavar="DAYS",
        type=float,
        help="delete recordings older than DAYS (default 7; 0 keeps them)",
    )
    group.add_argument(
        "--max-gb",
        metavar="GB",
        type=float,
        help="cap all recordings at GB in total, deleting the oldest (default: no cap)",
    )


def record_options(args: argparse.Namespace, config: FleetConfig) -> dict[str, Any]:
    settings = record_settings(config, args.record)
    changes: dict[str, float] = {}
    for key in ("keep_days", "max_gb"):
        value = getattr(args, key)
        if value is not None:
            if value < 0:
                raise OptionError(f"--{key.replace('_', '-')} must not be negative, got {value}")
            changes[key] = value
    if changes:
        import dataclasses

        settings = dataclasses.replace(settings, **changes)  # type: ignore[arg-type]
    if args.no_data:
        if args.data is not None or args.record not in (None, "off"):
            raise OptionError("--no-data keeps nothing: drop --data and --record, or --no-data")
        return {"data": None, "record": settings}
    data = args.data or (Path(config.hub.data).expanduser() if config.hub.data else None)
    return {"data": data or default_data_dir(), "record": settings}


def add_notify_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "notifications",
        "credentials, TLS and retries come from the config file's [mqtt] and [[webhooks]] "
        "(docs/notifications.md)",
    )
    group.add_argument(
        "--mqtt",
        metavar="HOST[:PORT]",
        help="publish events, counts, snapshots and camera states to this MQTT broker "
        "(port 1883 by default); overrides the config file's host and port",
    )
    group.add_argument("--mqtt-prefix", metavar="TOPIC", help="MQTT topic prefix (default camhub)")
    group.add_argument(
        "--ha-discovery",
        action="store_true",
        help="also publish Home Assistant MQTT discovery messages",
    )
    group.add_argument(
        "--webhook",
        metavar="URL",
        action="append",
        default=[],
        help="POST every event as JSON to URL (repeatable)",
    )


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
        loc = tuple(first["loc"])
        cause = first.get("ctx", {}).get("error")
        if isinstance(cause, UnknownLabel):  # --detect motorbke: point at the label
            loc = (*loc, *cause.where)
        where = ".".join(str(p) for p in loc)
        message = str(first["msg"]).removeprefix("Value error, ")
        raise OptionError(f"detection option {where}: {message}") from None
    return cfg if cfg.enabled else None


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config) if args.config else FleetConfig()
    hub_cfg = config.hub
    if args.web is None:
        args.web = DEFAULT_PHONES_WEB if args.phones else hub_cfg.web
    detect = detect_config(args, config.detect)
    if args.detect_on == "ray" and detect is None:
        raise OptionError("--detect-on ray needs --detect LABELS (or a [detect] section)")
    options = ServiceOptions(
        bind=args.bind or [hub_cfg.bind],
        display=args.display,
        offline_after=hub_cfg.offline_after if args.offline_after is None else args.offline_after,
        processors=parse_processors(args.processor),
        status_every=args.status_every,
        security=security_from_args(args),
        pull=pulled_jobs(args, config),
        expected=[c.name for c in (config.cameras if config else []) if c.name and not c.pull],
        mqtt=mqtt_from_options(
            config.mqtt, args.mqtt, prefix=args.mqtt_prefix, discovery=args.ha_discovery
        ),
        webhooks=webhooks_from_options(config.webhooks, args.webhook),
        detect=detect,
        detect_on=ray_options(args),
        phones=args.phones,
        phones_dir=args.phones_dir,
        phones_host=args.phones_host,
        **web_options(args),
        **record_options(args, config),
    )
    service = HubService(options)
    stop = threading.Event()
    with stop_on_signals(stop):
        service.start(stop)
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
