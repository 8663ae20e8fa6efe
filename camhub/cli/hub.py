"""``camhub hub``: receive frames from every sender and serve the dashboard."""

from __future__ import annotations

import argparse
import logging
import os
import threading
from pathlib import Path
from typing import Any

from camhub.config import Overlay, read_config
from camhub.datadir import default_data_dir
from camhub.display import MODES
from camhub.distributed.cli import add_ray_options, ray_overlay
from camhub.notify.settings import NotifySettingsError, parse_broker
from camhub.phones import qr
from camhub.phones.setup import DEFAULT_PHONES_WEB
from camhub.processing import processor_types
from camhub.record.settings import RECORD_MODES
from camhub.security import add_security_args
from camhub.security.options import PLAINTEXT_WARNING, security_config
from camhub.service import HubService, OptionError
from camhub.signals import stop_on_signals
from camhub.sources.registry import forms_help
from camhub.web import DEFAULT_WEB

TOKEN_ENV = "CAMHUB_WEB_TOKEN"

log = logging.getLogger("camhub.security")


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


def web_overlay(args: argparse.Namespace, overlay: Overlay) -> None:
    """The dashboard options over ``[hub]``; the token from $CAMHUB_WEB_TOKEN unless
    --web-token-file names one."""
    if args.web is not None:
        overlay.set(("hub", "web"), args.web, "--web")
    if args.no_web:
        overlay.set(("hub", "dashboard"), False, "--no-web")
    if args.web_expose:
        overlay.set(("hub", "web_expose"), True, "--web-expose")
    if args.web_token_file is not None:
        overlay.set(("hub", "web_token_file"), str(args.web_token_file), "--web-token-file")
    elif os.environ.get(TOKEN_ENV):
        overlay.set(("hub", "web_token"), os.environ[TOKEN_ENV], f"${TOKEN_ENV}")
    for key in ("tls_cert", "tls_key"):
        if getattr(args, key) is not None:
            overlay.set(("hub", key), getattr(args, key), "--" + key.replace("_", "-"))


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
        help=f"cameras the hub reads itself, with the same sources as camhub send ({forms_help()})",
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
        help="TOML/YAML fleet file; every option here has a key there ([hub], [hub.record], "
        "[mqtt], [[webhooks]], [detect]...), and options given here win; its cameras with "
        "pull = true are read by the hub, the others are listed as expected from camhub send",
    )
    add_web_options(parser)
    parser.add_argument(
        "--display",
        choices=MODES,
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
        help="log a status line per camera every S seconds (default 10; 0: never)",
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


def camera_overlay(args: argparse.Namespace, overlay: Overlay) -> None:
    """CAMERA_URLs: cameras the hub reads itself, after the fleet file's."""
    names: list[str] = args.name or []
    if names and len(names) != len(args.cameras):
        raise OptionError(
            f"got {len(names)} --name options for {len(args.cameras)} CAMERA_URLs; "
            "give one per CAMERA_URL"
        )
    for i, source in enumerate(args.cameras):
        camera = {"source": source, "pull": True}
        if names:
            camera["name"] = names[i]
        overlay.append(
            ("cameras",), camera, "CAMERA_URL", keys={"name": "--name", "source": "CAMERA_URL"}
        )


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
    group.add_argument(
        "--record-labels",
        metavar="LABELS",
        help="in events mode, record only around events of these labels, e.g. "
        "person,car,motion (default: every label but offline)",
    )


def record_overlay(args: argparse.Namespace, overlay: Overlay) -> None:
    if args.no_data:
        if args.data is not None or args.record not in (None, "off"):
            raise OptionError("--no-data keeps nothing: drop --data and --record, or --no-data")
        overlay.remove(("hub", "data"), "--no-data")
        overlay.set(("hub", "keep_data"), False, "--no-data")
    if args.data is not None:
        overlay.set(("hub", "data"), str(args.data), "--data")
    if args.record is not None:
        overlay.set(("hub", "record", "mode"), args.record, "--record")
    for key in ("keep_days", "max_gb"):
        if getattr(args, key) is not None:
            overlay.set(("hub", "record", key), getattr(args, key), "--" + key.replace("_", "-"))
    if args.record_labels is not None:
        labels = [x.strip() for x in args.record_labels.split(",") if x.strip()]
        overlay.set(("hub", "record", "event_labels"), labels, "--record-labels")


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


def notify_overlay(args: argparse.Namespace, overlay: Overlay) -> None:
    """--mqtt over [mqtt]'s host and port (its other keys stay); --webhook adds hooks."""
    if args.mqtt is not None:
        try:
            host, port = parse_broker(args.mqtt)
        except NotifySettingsError as exc:
            raise OptionError(f"--mqtt: {exc}") from None
        overlay.set(("mqtt", "host"), host, "--mqtt").set(("mqtt", "port"), port, "--mqtt")
    elif args.mqtt_prefix is not None or args.ha_discovery:
        overlay.requires(
            ("mqtt",), "--mqtt-prefix and --ha-discovery need --mqtt HOST[:PORT] (or [mqtt])"
        )
    if args.mqtt_prefix is not None:
        overlay.set(("mqtt", "prefix"), args.mqtt_prefix, "--mqtt-prefix")
    if args.ha_discovery:
        overlay.set(("mqtt", "discovery"), True, "--ha-discovery")
    for url in args.webhook:
        overlay.append(("webhooks",), {"url": url}, "--webhook")


def detect_overlay(args: argparse.Namespace, overlay: Overlay) -> None:
    """--detect and its companions over [detect]."""
    given = {
        ("model", "--model"): args.model,
        ("labels_file", "--labels"): args.labels,
        ("detect_fps", "--detect-fps"): args.detect_fps,
        ("workers", "--detect-workers"): args.detect_workers,
        ("motion_gated", "--no-motion-gate"): False if args.no_motion_gate else None,
    }
    if args.detect is not None:
        text = args.detect.strip()
        labels = [] if text == "all" else [x.strip() for x in text.split(",") if x.strip()]
        overlay.set(("detect", "labels"), labels, "--detect")
    elif any(v is not None for v in given.values()):
        overlay.requires(
            ("detect",), "--model/--labels/--detect-* need --detect LABELS (or a [detect] section)"
        )
    for (key, option), value in given.items():
        if value is not None:
            overlay.set(("detect", key), value, option)
    ray_overlay(args, overlay)


def hub_overlay(args: argparse.Namespace) -> Overlay:
    """Every option given on the command line, as keys of the fleet file."""
    overlay = Overlay()
    if args.bind:
        overlay.set(("hub", "bind"), list(args.bind), "--bind")
    web_overlay(args, overlay)
    if args.display is not None:
        overlay.set(("hub", "display"), args.display, "--display")
    if args.offline_after is not None:
        overlay.set(("hub", "offline_after"), args.offline_after, "--offline-after")
    for text in args.processor:
        overlay.append(("hub", "processors"), text, "--processor")
    if args.status_every is not None:
        overlay.set(("hub", "status_every"), args.status_every, "--status-every")
    record_overlay(args, overlay)
    notify_overlay(args, overlay)
    detect_overlay(args, overlay)
    if args.phones:
        overlay.set(("hub", "phones"), True, "--phones")
    for key in ("phones_dir", "phones_host"):
        if getattr(args, key) is not None:
            overlay.set(("hub", key), getattr(args, key), "--" + key.replace("_", "-"))
    for key, value in security_config(args).items():
        overlay.set(("hub", "security", key), value, "--" + key.replace("_", "-"))
    camera_overlay(args, overlay)
    return overlay


def run(args: argparse.Namespace) -> int:
    # Everything is checked before anything starts: the file and the options together
    # (pure), then what only the file system can tell (keys, token, model files).
    service = HubService(read_config(args.config, hub_overlay(args)))
    if service.security is None:
        log.warning("%s", PLAINTEXT_WARNING)
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
