"""``camhub demo``: a hub, its dashboard and synthetic cameras on this machine, wired
exactly as a real deployment is: sources -> ``camhub send``'s agent -> ZeroMQ -> hub.

The cameras show different scenes (:mod:`camhub.scenes`): someone walks past the front
door now and then (motion detection and the built-in person detector run on it, so the
dashboard draws boxes and the review page fills with person events), and the workshop
camera loses power for a while every so often, so the dashboard shows a camera going
offline and back. ``--web-expose`` serves the dashboard on the LAN behind a token and
prints a link that carries it."""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import tempfile
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

from camhub.agent import Agent, CameraJob
from camhub.config import FleetConfig, Overlay, read_config
from camhub.detect.base import DetectorError
from camhub.scenes import SCENES
from camhub.service import HubService, OptionError
from camhub.signals import stop_on_signals
from camhub.web.server import WebConfigError

NAMES = ["front-door", "garage", "backyard", "workshop", "driveway", "kitchen", "attic", "lab"]
FLAKY = 3
"""The camera (by index) that loses power now and then: the workshop."""
OUTAGE = (45.0, 12.0)
"""The flaky camera is dark for 12 s of every 45 s."""


TOKEN_ENV = "CAMHUB_WEB_TOKEN"
DETECT = "person"
"""What the demo detects, on its first camera (the porch with the walker)."""


def camera_names(count: int) -> list[str]:
    return [NAMES[i] if i < len(NAMES) else f"camera-{i + 1}" for i in range(count)]


def scene_of(index: int) -> str:
    return SCENES[index % len(SCENES)]


def start_cameras(
    hub: str,
    names: list[str],
    size: tuple[int, int],
    fps: float,
    outage: tuple[float, float] | None = OUTAGE,
) -> Agent:
    """The demo's cameras, streaming to ``hub`` through ``camhub send``'s agent: one
    scene each, the camera at :data:`FLAKY` dark for ``outage[1]`` s of every ``outage[0]``
    s (also used by ``scripts/screenshot.py``)."""
    jobs = [
        CameraJob(name, scene_source(scene_of(i), size, fps, outage if i == FLAKY else None))
        for i, name in enumerate(names)
    ]
    return Agent(hub, jobs).start()


def scene_source(
    scene: str, size: tuple[int, int], fps: float, outage: tuple[float, float] | None
) -> str:
    """The source string of a demo camera (``scene:porch:640x480@15``)."""
    text = f"scene:{scene}:{size[0]}x{size[1]}@{_number(fps)}"
    return text if outage is None else f"{text}?outage={_number(outage[0])},{_number(outage[1])}"


def _number(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def parse_size(text: str) -> tuple[int, int]:
    w, _, h = text.lower().partition("x")
    if not (w.isdigit() and h.isdigit()) or not (16 <= int(w) <= 4096 and 16 <= int(h) <= 4096):
        raise argparse.ArgumentTypeError(f"size must be WIDTHxHEIGHT like 640x480, got {text!r}")
    return int(w), int(h)


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "demo",
        help="try camhub now: a hub, the dashboard and synthetic cameras",
        description="Start a hub, its browser dashboard and synthetic cameras (a porch, "
        "a garage, a garden, a workshop...) on this machine, with motion detection on "
        "the first camera; the workshop camera loses power for 12 s of every 45 s. Open "
        "the printed URL; stop with Ctrl-C.",
    )
    parser.add_argument("--cameras", type=int, default=4, help="cameras (default 4)")
    parser.add_argument(
        "--size",
        type=parse_size,
        default=(640, 480),
        help="frame size WIDTHxHEIGHT (default 640x480)",
    )
    parser.add_argument("--fps", type=float, default=15.0, help="frames per second (default 15)")
    parser.add_argument(
        "--web",
        metavar="HOST:PORT",
        default="127.0.0.1:8000",
        help="dashboard address (default 127.0.0.1:8000, or a free port if taken)",
    )
    parser.add_argument(
        "--web-expose",
        action="store_true",
        help="serve the dashboard to other machines (default --web 0.0.0.0:8000) behind a "
        f"token (${TOKEN_ENV}, or a new one) and print a link that carries it",
    )
    parser.add_argument("--no-motion", action="store_true", help="skip the motion processor")
    parser.add_argument(
        "--no-detect",
        action="store_true",
        help=f"skip object detection ({DETECT} on the first camera, with the built-in model)",
    )
    parser.add_argument(
        "--no-outage", action="store_true", help="keep every camera on (no offline spell)"
    )
    parser.add_argument(
        "--data",
        metavar="DIR",
        type=Path,
        help="keep the demo's events and recordings in DIR (default: a temporary "
        "directory, deleted when the demo stops)",
    )
    parser.add_argument(
        "--duration",
        type=float,
        metavar="S",
        help="stop after S seconds (default: run until Ctrl-C)",
    )
    parser.add_argument(
        "--status-every",
        metavar="S",
        type=float,
        default=30.0,
        help="log a status line per camera every S seconds (0: never)",
    )
    parser.set_defaults(func=run)


def detect_section(names: list[str], size: tuple[int, int]) -> dict[str, Any]:
    """``[detect]`` for the demo: the built-in model looks for a person on the first
    camera only (the others have nobody to find: no CPU spent on them), with a zone on
    the path in front of its door."""
    w, h = size
    door = [[0.3 * w, 0.8 * h], [0.7 * w, 0.8 * h], [0.7 * w, h - 1], [0.3 * w, h - 1]]
    cameras: dict[str, Any] = {name: {"enabled": False} for name in names[1:]}
    cameras[names[0]] = {"zones": [{"name": "door", "points": door}]}
    return {"labels": [DETECT], "cameras": cameras}


def lan_link(port: int, token: str) -> str:
    """The dashboard's address for another machine on the LAN, with the token."""
    from camhub.security.certs import lan_addresses

    lan = lan_addresses()
    host = str(lan[0]) if lan else socket.gethostname()
    return f"http://{host}:{port}/?token={quote(token)}"


def _start_service(config: FleetConfig, fallback: bool) -> HubService:
    try:
        return HubService(config).start()
    except WebConfigError as exc:
        if not fallback or "cannot listen" not in str(exc):
            raise
        print(f"camhub demo: {config.hub.web} is taken; using a free port instead", flush=True)
        web = config.hub.web.rsplit(":", 1)[0] + ":0"
        config = config.model_copy(update={"hub": config.hub.model_copy(update={"web": web})})
        return HubService(config).start()


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.cameras <= 64:
        raise OptionError(f"--cameras must be 1..64, got {args.cameras}")
    if not 0 < args.fps <= 120:
        raise OptionError(f"--fps must be in (0, 120], got {args.fps}")
    names = camera_names(args.cameras)
    data = args.data or Path(tempfile.mkdtemp(prefix="camhub-demo-"))
    web = args.web
    token: str | None = None
    if args.web_expose:
        if web == "127.0.0.1:8000":  # the default: exposing means other machines
            web = "0.0.0.0:8000"
        token = os.environ.get(TOKEN_ENV) or secrets.token_urlsafe(18)
    overlay = (
        Overlay()
        .set(("hub", "bind"), ["tcp://127.0.0.1:0"], "camhub demo")
        .set(("hub", "web"), web, "--web")
        .set(("hub", "offline_after"), 3.0, "camhub demo")
        .set(("hub", "status_every"), args.status_every, "--status-every")
        .set(("hub", "data"), str(data), "--data")
        # every camera records around its events; 1 GB at most, so a long demo stays small
        .set(("hub", "record"), {"mode": "events", "max_gb": 1.0}, "camhub demo")
    )
    if token is not None:
        overlay.set(("hub", "web_expose"), True, "--web-expose")
        overlay.set(("hub", "web_token"), token, f"${TOKEN_ENV}")
    if not args.no_motion:
        overlay.append(("hub", "processors"), f"motion:{names[0]}", "camhub demo")
    if not args.no_detect:
        overlay.set(("detect",), detect_section(names, args.size), "camhub demo")
    try:
        config = read_config(None, overlay)
        detect = config.detection() is not None
        try:
            HubService(config)  # checks the model's files, binds nothing
        except DetectorError as exc:  # no built-in model here: the demo goes on without
            print(
                f"camhub demo: object detection off: {exc} (scripts/setup installs the "
                "built-in model)",
                flush=True,
            )
            detect = False
            config = config.model_copy(update={"detect": None})
    except BaseException:
        if args.data is None:
            shutil.rmtree(data, ignore_errors=True)
        raise
    stop = threading.Event()
    with stop_on_signals(stop):
        service: HubService | None = None
        agent: Agent | None = None
        try:
            service = _start_service(config, fallback=web in ("127.0.0.1:8000", "0.0.0.0:8000"))
            assert service.hub is not None
            w, h = args.size
            outage = None if args.no_outage or len(names) <= FLAKY else OUTAGE
            agent = start_cameras(service.hub.endpoint, names, (w, h), args.fps, outage)
            print(
                f"camhub demo: {len(names)} cameras ({w}x{h} @ {args.fps:g} fps)"
                f"{'' if args.no_motion else f', motion detection on {names[0]}'}"
                f"{f', {DETECT} detection on {names[0]}' if detect else ''}"
                f"{'' if outage is None else f', {names[FLAKY]} drops out now and then'}",
                flush=True,
            )
            print(f"camhub demo: open the dashboard at {service.url}  (Ctrl-C to stop)", flush=True)
            if token is not None and service.web is not None:
                print(
                    f"camhub demo: from another machine: {lan_link(service.web.port, token)}"
                    "  (anyone with this link can watch the demo's cameras)",
                    flush=True,
                )
            if service.url:
                print(
                    f"camhub demo: events and recordings at {service.url}events (kept in {data})",
                    flush=True,
                )
            service.run(stop, duration=args.duration)
        finally:
            if agent is not None:
                agent.stop()
            if service is not None:
                service.stop()
            if args.data is None:
                shutil.rmtree(data, ignore_errors=True)
    print("camhub demo: stopped", flush=True)
    return 0
