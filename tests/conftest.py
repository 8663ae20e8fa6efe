"""Fixtures shared by the whole suite: free ports, realistic test images, a live hub."""

from __future__ import annotations

import itertools
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import camhub

PEERS = Path(__file__).parent / "peers"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``--dist loadgroup``, as scripts/test runs it) a file's tests
    stay on one worker, so module-scoped peers start once; every Ray test shares one
    worker, so two Ray clusters never compete for the machine's two cores."""
    for item in items:
        path = Path(str(item.fspath))
        group = "ray" if path.parent.name == "distributed" else path.stem
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def playwright() -> Iterator[object]:
    """One Playwright driver for the whole run. Its sync API runs an event loop on the main
    thread, so a second ``sync_playwright()`` alive at the same time fails with "Sync API
    inside the asyncio loop": every browser fixture launches from this one."""
    from camhub.web.browser import CHROMIUM

    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not installed (scripts/setup --dev installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


# Ports for servers that cannot bind port 0 themselves (GStreamer, mosquitto, Ray, a URL
# that must point nowhere) come from below the kernel's ephemeral range (32768 and up), so
# no other bind(0) or outgoing connection can take one between this check and the
# server's bind, and above Ray's worker ports (10002-19999), which Ray refuses to share.
# Each pytest-xdist worker has its own slice, and a process never hands out the same
# port twice.
_BASE, _SLICE = 20000, 1500
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0) % 8
_next_port = itertools.count(
    _BASE + _WORKER * _SLICE + random.Random(os.getpid()).randrange(_SLICE // 2)
)


def free_port() -> int:
    for port in _next_port:
        if port >= _BASE + (_WORKER + 1) * _SLICE:
            break
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("this test process used up its slice of ports")


@pytest.fixture
def taken_ports() -> Iterator[tuple[int, int]]:
    """Two ports held open. A hub told to listen there stops at once ("in use"): tests of
    options that must be refused before anything listens pass it, so that an option let
    through fails fast instead of leaving a hub running."""
    with socket.socket() as first, socket.socket() as second:
        for s in (first, second):
            s.bind(("127.0.0.1", 0))
            s.listen()
        yield first.getsockname()[1], second.getsockname()[1]


@pytest.fixture
def taken_bind(taken_ports: tuple[int, int]) -> str:
    """``tcp://127.0.0.1:PORT`` on a taken port (see :func:`taken_ports`)."""
    return f"tcp://127.0.0.1:{taken_ports[0]}"


def make_image(width: int = 640, height: int = 480, seed: int = 0) -> np.ndarray:
    """A camera-like BGR image: smooth gradients plus some texture (compresses like a photo)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    img = np.empty((height, width, 3), np.uint8)
    img[..., 0] = (x * 255 // max(1, width - 1)).astype(np.uint8)
    img[..., 1] = (y * 255 // max(1, height - 1)).astype(np.uint8)
    img[..., 2] = ((x + y + seed * 37) % 256).astype(np.uint8)
    noise = rng.integers(0, 24, size=(height, width, 3), dtype=np.uint8)
    return img + noise


@pytest.fixture(scope="session")
def image() -> np.ndarray:
    return make_image()


@pytest.fixture(scope="session")
def jpeg(image: np.ndarray) -> bytes:
    return camhub.encode_jpeg(image, quality=80)


@pytest.fixture
def hub() -> Iterator[camhub.Hub]:
    with camhub.Hub("tcp://127.0.0.1:0", offline_after=1.0) as h:
        yield h


def wait_until(predicate: object, timeout: float = 5.0, interval: float = 0.02) -> bool:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def start_peer(script: str, *args: str) -> subprocess.Popen[str]:
    """Run tests/peers/SCRIPT in a fresh Python process; it prints 'READY ...' when up."""
    proc = subprocess.Popen(
        [sys.executable, str(PEERS / script), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("READY"):
        proc.kill()
        raise RuntimeError(
            f"{script} failed to start: {line!r} {proc.stderr.read() if proc.stderr else ''}"
        )
    return proc


def stop_peer(proc: subprocess.Popen[str]) -> None:
    """Kill a peer started by start_peer and release its pipes."""
    if proc.poll() is None:
        proc.kill()
    proc.wait(5)
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()
