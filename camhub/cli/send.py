"""``camhub send``: stream one or more cameras to a hub."""

from __future__ import annotations

import argparse
import logging
import sys
import threading

from camhub.agent import Agent, CameraJob, default_names
from camhub.cli._status import StatusBoard
from camhub.config import CameraConfig, FleetConfig, load_config
from camhub.encoding import CODEC_CHOICES
from camhub.security import add_security_args, security_from_args
from camhub.signals import stop_on_signals
from camhub.sources import parse_source
from camhub.types import CamhubError

log = logging.getLogger("camhub.send")

EPILOG = """\
sources:
  rtsp://[USER:PASS@]HOST[:PORT]/PATH   RTSP/RTSPS camera (its H.264/H.265 passed through)
  http://HOST:PORT/video                MJPEG over HTTP (JPEGs passed through untouched)
  http://HOST:8080                      Android IP Webcam (its /video stream)
  http://HOST:PORT/shot.jpg             JPEG snapshots, polled --rate times a second
  ipwebcam://HOST[:PORT][?mode=rtsp]    IP Webcam app: MJPEG, or H.264 over RTSP
  droidcam://HOST[:PORT]                DroidCam app (port 4747)
  0, 1, /dev/video0                     local webcams
  clip.mp4                              a video file in real time (--loop to repeat)
  testsrc[:WxH@FPS]                     built-in moving test pattern
  picamera[:N]                          Raspberry Pi camera (needs picamera2)

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
        epilog=EPILOG,
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
    p.add_argument("--fps", type=_positive, help="send at most this many frames per second")
    p.add_argument("--width", type=_width, help="shrink frames wider than this many pixels")
    p.add_argument("--quality", type=_quality, default=85, help="JPEG quality 1-100 (85)")
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
        default="auto",
        help="auto (default): pass the camera's own H.264/H.265 through and encode pictures "
        "as H.264, for a hub that takes video (JPEG otherwise, and for MJPEG cameras); "
        "h264: MJPEG cameras too; jpeg: always JPEG",
    )
    p.add_argument("--loop", action="store_true", help="replay video files forever")
    p.add_argument("--rate", type=_positive, default=5.0, help="snapshot polls per second (5)")
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


def _width(text: str) -> int:
    if not text.isdigit() or not 16 <= int(text) <= 7680:
        raise argparse.ArgumentTypeError(f"width must be 16..7680 pixels, got {text!r}")
    return int(text)


def _quality(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 100:
        raise argparse.ArgumentTypeError(f"quality must be 1..100, got {text!r}")
    return int(text)


def job_from_config(cam: CameraConfig, name: str, timeout: float = 5.0) -> CameraJob:
    """The streaming job for one fleet-file camera (``camhub send`` and pulled cameras)."""
    return CameraJob(
        name=name,
        source=cam.source,
        fps=cam.fps,
        width=cam.width,
        quality=cam.quality,
        encoding=cam.encoding,
        reencode=cam.reencode,
        codec=cam.codec,
        loop=cam.loop,
        snapshot_rate=cam.snapshot_rate,
        timeout=timeout,
    )


def jobs_from_args(args: argparse.Namespace, config: FleetConfig | None) -> list[CameraJob]:
    """Cameras from the config file (except those the hub pulls), then those on the
    command line."""
    jobs: list[CameraJob] = []
    if config is not None:
        pushed = [c for c in config.cameras if not c.pull]
        auto = iter(default_names(len([c for c in pushed if c.name is None])))
        for cam in pushed:
            jobs.append(job_from_config(cam, cam.name or next(auto), args.timeout))
    for source in args.sources:
        parse_source(source)  # a malformed source fails now, before anything starts
    names: list[str] = args.name or []
    if args.sources:
        if len(names) == len(args.sources):
            pass
        elif len(names) <= 1:
            names = default_names(len(args.sources), names[0] if names else None)
        else:
            raise CamhubError(
                f"got {len(names)} --name options for {len(args.sources)} sources; "
                "give one per source, or a single base name"
            )
    for name, source in zip(names, args.sources, strict=False):
        jobs.append(
            CameraJob(
                name=name,
                source=source,
                fps=args.fps,
                width=args.width,
                quality=args.quality,
                encoding="raw" if args.raw else "jpeg",
                reencode=args.reencode,
                codec=args.codec,
                loop=args.loop,
                snapshot_rate=args.rate,
                timeout=args.timeout,
            )
        )
    if not jobs:
        raise CamhubError(
            "no cameras: name at least one SOURCE, or --config FILE with cameras "
            "(cameras with pull = true are read by the hub, not sent)"
        )
    return jobs


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config) if args.config else None
    hub = args.hub or (config.hub.address if config else "tcp://127.0.0.1:5555")
    agent = Agent(hub, jobs_from_args(args, config), security=security_from_args(args))
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
