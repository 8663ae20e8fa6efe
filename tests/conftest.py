"""Fixtures shared by the whole suite: free ports, realistic test images, a live hub."""

from __future__ import annotations

import inspect
import itertools
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import camhub

PEERS = Path(__file__).parent / "peers"


# One retry, only for tests that drive a real external peer (a browser, a broker, a Ray
# cluster, a GStreamer or ffmpeg server, an imagezmq process): those peers run beside the
# test on a loaded machine, with start-up, timers and shutdown the test does not own.
# Every other test must pass first time. A test gets its retry from an explicit
# ``@pytest.mark.peer_retry(reason="...")`` (the marks below), or from the peer it uses:
# the fixtures and marks in _PEER_FIXTURES / _PEER_MARKS. Every test allowed a retry is
# listed with its reason at the end of the run.
CHROMIUM_REASON = (
    "drives Debian's chromium (Playwright): browser start-up and rendering share 2 cores"
)
MOSQUITTO_REASON = "talks to a real mosquitto broker (its start-up and reconnect timers)"
RAY_REASON = "starts a real local Ray cluster (GCS, raylets and workers start on their own time)"
GSTREAMER_REASON = "pulls from a real GStreamer RTSP server (RTSP set-up, RTP over loopback)"
FFMPEG_REASON = "streams from a real ffmpeg server process (imageio-ffmpeg)"
IMAGEZMQ_REASON = "runs imagezmq in a separate Python process (its start-up, REQ/REP)"

MOSQUITTO = pytest.mark.peer_retry(reason=MOSQUITTO_REASON)
FFMPEG = pytest.mark.peer_retry(reason=FFMPEG_REASON)
IMAGEZMQ = pytest.mark.peer_retry(reason=IMAGEZMQ_REASON)

_PEER_FIXTURES = {
    "playwright": CHROMIUM_REASON,
    "broker": MOSQUITTO_REASON,
    "rtsp_server": GSTREAMER_REASON,
    "rtsp": GSTREAMER_REASON,  # test_send_video: the test starts its own RTSP server
    "ffmpeg_server": FFMPEG_REASON,
}
_PEER_MARKS = {"browser": CHROMIUM_REASON, "rtsp": GSTREAMER_REASON, "ray": RAY_REASON}
_RETRY_PROPERTY = "peer_retry"


def _retry_reason(item: pytest.Item) -> str | None:
    mark = item.get_closest_marker("peer_retry")
    if mark is not None:
        reason = mark.kwargs.get("reason") or (mark.args[0] if mark.args else "")
        if not reason:
            raise pytest.UsageError(f"{item.nodeid}: peer_retry needs a reason")
        return str(reason)
    for name in getattr(item, "fixturenames", ()):
        if name in _PEER_FIXTURES:
            return _PEER_FIXTURES[name]
    for name, reason in _PEER_MARKS.items():
        if item.get_closest_marker(name) is not None:
            return reason
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give peer tests their one retry. And under pytest-xdist (``--dist loadgroup``, as
    scripts/test runs it) keep a file's tests on one worker, so module-scoped peers start
    once; every Ray test shares one worker, so two Ray clusters never compete for the
    machine's two cores."""
    # CAMHUB_NO_PEER_RETRY=1: no retries at all, to see what a retry would have hidden.
    retries = os.environ.get("CAMHUB_NO_PEER_RETRY", "") in ("", "0")
    for item in items:
        reason = _retry_reason(item)
        if reason is not None:
            if retries:
                item.add_marker(pytest.mark.flaky(reruns=1, reruns_delay=2))
            # Travels with the test's reports, also from pytest-xdist workers.
            item.user_properties.append((_RETRY_PROPERTY, reason))
        path = Path(str(item.fspath))
        group = "ray" if path.parent.name == "distributed" else path.stem
        item.add_marker(pytest.mark.xdist_group(group))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """List every test allowed a retry, with its reason, and mark those that used it."""
    retried: dict[str, str] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            for key, value in getattr(report, "user_properties", ()):
                if key == _RETRY_PROPERTY:
                    retried[report.nodeid] = str(value)
    if not retried:
        return
    rerun = {r.nodeid for r in terminalreporter.stats.get("rerun", [])}
    terminalreporter.section(f"{len(retried)} tests allowed one retry (real external peers)")
    by_reason: dict[str, list[str]] = {}
    for nodeid, reason in retried.items():
        by_reason.setdefault(reason, []).append(nodeid)
    for reason, nodeids in by_reason.items():
        terminalreporter.write_line(f"{reason}:")
        for nodeid in nodeids:
            terminalreporter.write_line(f"  {nodeid}{'  [RERUN]' if nodeid in rerun else ''}")
    terminalreporter.write_line(f"{len(rerun)} of them needed their retry this run")


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
    """A port for a server that must be given one (it cannot bind port 0 and say which
    it got): taken from below the ephemeral range (see above). Retry that server's start
    if the port is taken anyway. For a port where nothing may listen, use
    :func:`closed_port` / the ``dead_port`` fixture."""
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


def last_endpoint(sock: Any) -> str:
    """Where a ZeroMQ socket bound to port 0 (``tcp://127.0.0.1:*``) really listens."""
    import zmq

    return str(sock.getsockopt(zmq.LAST_ENDPOINT).decode())


@contextmanager
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 where nothing listens for as long as the block runs: it is
    held bound but never listened on, so connecting is refused, no other process can
    take it meanwhile, and no client can be handed it as its own source port (which
    with a port merely believed free can make a TCP connection to itself)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A port where nothing listens during the test (see :func:`closed_port`)."""
    with closed_port() as port:
        yield port


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


def wait_until(
    predicate: Callable[[], object],
    timeout: float = 10.0,
    what: str | Callable[[], object] = "",
    interval: float = 0.05,
) -> None:
    """Poll ``predicate`` until it is true; raise ``AssertionError`` naming what was
    awaited if it is still false after ``timeout`` seconds.

    It returns nothing on purpose: a wait that could return False let a timeout pass
    silently wherever it was written as a bare statement. ``timeout`` is only a ceiling
    against a hang, never a bound the code must beat, so give it room. ``what`` says what
    was awaited; a callable is called only on failure (for state worth printing then).
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            if predicate():  # one last look: the process may have been descheduled
                return
            detail = what() if callable(what) else what
            raise AssertionError(
                f"timed out after {timeout:g} s waiting for {detail or _describe(predicate)}"
            )
        time.sleep(interval)


def _describe(predicate: Callable[[], object]) -> str:
    """The source text of a predicate (a lambda's line), else its repr."""
    try:
        return " ".join(inspect.getsource(predicate).split())
    except (OSError, TypeError):
        return repr(predicate)


def start_peer(script: str, *args: str) -> subprocess.Popen[str]:
    """Run tests/peers/SCRIPT in a fresh Python process; it prints 'READY ...' when up."""
    return start_peer_ready(script, *args)[0]


def start_peer_ready(script: str, *args: str) -> tuple[subprocess.Popen[str], list[str]]:
    """:func:`start_peer`, also returning the words after READY (hub_process.py prints the
    endpoint it bound, so it can be started on port 0)."""
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
    return proc, line.split()[1:]


def stop_peer(proc: subprocess.Popen[str]) -> None:
    """Kill a peer started by start_peer and release its pipes."""
    if proc.poll() is None:
        proc.kill()
    proc.wait(5)
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()
