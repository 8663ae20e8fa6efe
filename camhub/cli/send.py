"""``camhub send``: stream one or more cameras to a hub."""

from __future__ import annotations

import argparse
import logging
import sys
import threading

from camhub.agent import Agent, CameraJob, default_names
from camhub.cli._status import StatusBoard
from camhub.config import FleetConfig, Overlay, read_config
from camhub.encoding import CODEC_CHOICES
from camhub.security import add_security_args
from camhub.security.options import SENDER_PLAINTEXT_WARNING, sender_security
from camhub.signals import stop_on_signals
from camhub.sources.registry import forms_table
from camhub.types import CamhubError

log = logging.getLogger("camhub.send")

EXAMPLES = """\
examples:
  camhub send testsrc --hub tcp://127.0.0.1:5555
  camhub send ipwebcam://192.168.1.23 0 --hub tcp://hub.local:5555 --fps 10
  camhub send --config cameras.toml
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "send",
        help="stream cameras to a hub",
        description="Stream one or more cameras to a camhub hub (or an imagezmq ImageHub). "
        "Each camera gets its own thread; the newest frame is always the one sent.",
        # Built when the parser is: the registered source kinds, plugins' included.
        epilog=f"sources:\n{forms_table()}\n\n{EXAMPLES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="camera source (see below)")
    p.add_argument("--hub", help="hub address (default: from --config, else tcp://127.0.0.1:5555)")
    p.add_argument(
        "--name",
        action="append",
        help="camera name (default: host name); give once per source, or once as a base "
        "name that gets -1, -2... suffixes",
    )
    p.add_argument("--fps", type=float, help="send at most this many frames per second")
    p.add_argument("--width", type=int, help="shrink frames wider than this many pixels")
    p.add_argument("--quality", type=int, help="JPEG quality 1-100 (85)")
    p.add_argument("--raw", action="store_true", help="send raw arrays instead of JPEG")
    p.add_argument(
        "--reencode",
        action="store_true",
        help="re-encode camera JPEGs at --quality (smaller, but costs CPU; by default "
        "MJPEG cameras' JPEGs are sent untouched)",
    )
    p.add_argument(
        "--codec",
        choices=CODEC_CHOICES,
        help="auto (default): pass the camera's own H.264/H.265 through and encode pictures "
        "as H.264, for a hub that takes video (JPEG otherwise, and for MJPEG cameras); "
        "h264: MJPEG cameras too; jpeg: always JPEG",
    )
    p.add_argument("--loop", action="store_true", help="replay video files forever")
    p.add_argument("--rate", type=float, help="snapshot polls per second (5)")
    p.add_argument(
        "--timeout", type=_positive, default=5.0, help="camera open/read timeout in seconds (5)"
    )
    p.add_argument("--config", metavar="FILE", help="TOML/YAML file listing hub and cameras")
    add_security_args(p, role="sender")
    p.set_defaults(func=run)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"must be above 0 (and at most 3600), got {text}")
    return value


_CAMERA_OPTIONS = {
    "fps": "--fps",
    "width": "--width",
    "quality": "--quality",
    "snapshot_rate": "--rate",
    "codec": "--codec",
    "name": "--name",
    "source": "SOURCE",
}


def send_overlay(args: argparse.Namespace) -> Overlay:
    """The SOURCEs as cameras after the fleet file's, with the per-camera options."""
    overlay = Overlay()
    if args.hub is not None:
        overlay.set(("hub", "address"), args.hub, "--hub")
    names: list[str] = args.name or []
    if args.sources and len(names) != len(args.sources):
        if len(names) > 1:
            raise CamhubError(
                f"got {len(names)} --name options for {len(args.sources)} sources; "
                "give one per source, or a single base name"
            )
        names = default_names(len(args.sources), names[0] if names else None)
    given = {"fps": args.fps, "width": args.width, "quality": args.quality}
    for name, source in zip(names, args.sources, strict=False):
        camera = {
            "name": name,
            "source": source,
            **{k: v for k, v in given.items() if v is not None},
            "encoding": "raw" if args.raw else "jpeg",
            "reencode": args.reencode,
            **({} if args.codec is None else {"codec": args.codec}),
            "loop": args.loop,
            **({} if args.rate is None else {"snapshot_rate": args.rate}),
        }
        overlay.append(("cameras",), camera, "SOURCE", keys=_CAMERA_OPTIONS)
    return overlay


def jobs_from_config(config: FleetConfig, timeout: float = 5.0) -> list[CameraJob]:
    """The cameras to send: all but those the hub pulls, unnamed ones after this host."""
    pushed = [c for c in config.cameras if not c.pull]
    auto = iter(default_names(len([c for c in pushed if c.name is None])))
    jobs = [c.job(c.name or next(auto), timeout) for c in pushed]
    if not jobs:
        raise CamhubError(
            "no cameras: name at least one SOURCE, or --config FILE with cameras "
            "(cameras with pull = true are read by the hub, not sent)"
        )
    return jobs


def run(args: argparse.Namespace) -> int:
    config = read_config(args.config, send_overlay(args))
    jobs = jobs_from_config(config, args.timeout)
    security = sender_security(args)
    agent = Agent(config.hub.address, jobs, security=security)
    if security is None:  # once everything else is known to be good
        logging.getLogger("camhub.security").warning("%s", SENDER_PLAINTEXT_WARNING)
    stop = threading.Event()
    with stop_on_signals(stop):
        agent.start()
        try:
            with StatusBoard(agent.status_lines, sys.stderr) as board:
                while not stop.wait(1.0) and agent.running:
                    board.refresh()
        finally:
            agent.stop()
    failed = [w for w in agent.workers if w.state == "failed"]
    return 1 if failed and len(failed) == len(agent.workers) else 0
