"""Fixtures for dashboard tests: a real Hub, a real dashboard (uvicorn) on free ports,
real senders, and Debian's chromium driven by Playwright."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from starlette.testclient import TestClient

import camhub
from camhub.video.packet import VideoPacket
from camhub.web import WebServer
from camhub.web.app import create_app
from camhub.web.browser import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import wait_until
from tests.web.live_camera import VideoCamera, h264_loop


def jpegs(count: int, size: tuple[int, int] = (96, 72), seed: int = 0) -> list[bytes]:
    """``count`` distinct small JPEGs: a bright bar moving over a grey ramp."""
    w, h = size
    out = []
    for i in range(count):
        img = np.full((h, w, 3), 40 + 20 * seed, np.uint8)
        img[:, :, 1] = np.linspace(0, 200, w, dtype=np.uint8)[None, :]
        x = (i * 7) % (w - 12)
        img[h // 4 : 3 * h // 4, x : x + 12] = 255
        out.append(camhub.encode_jpeg(img, quality=80))
    return out


class StreamingCamera:
    """A real sender thread pushing a loop of JPEGs to the hub at ``fps``."""

    def __init__(
        self,
        endpoint: str,
        name: str,
        fps: float = 20.0,
        frames: list[bytes] | None = None,
        size: tuple[int, int] = (96, 72),
    ) -> None:
        self.name = name
        self.frames = frames or jpegs(12, size)
        self.size = size
        self.fps = fps
        self.sent: list[bytes] = []
        self._stop = threading.Event()
        self._sender = camhub.Sender(endpoint, window=4, timeout=2.0)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        i = 0
        next_at = time.monotonic()
        while not self._stop.is_set():
            jpeg = self.frames[i % len(self.frames)]
            if self._sender.send_jpeg(self.name, jpeg, width=self.size[0], height=self.size[1]):
                self.sent.append(jpeg)
            i += 1
            next_at += 1 / self.fps
            self._stop.wait(max(0.0, next_at - time.monotonic()))
        self._sender.flush(1.0)
        self._sender.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


@pytest.fixture
def hub() -> Iterator[camhub.Hub]:
    h = camhub.Hub(bind="tcp://127.0.0.1:0", offline_after=1.0).start()
    yield h
    h.stop()


@pytest.fixture
def cameras(hub: camhub.Hub) -> Iterator[Callable[..., StreamingCamera]]:
    started: list[StreamingCamera] = []

    def start(name: str, **kw: object) -> StreamingCamera:
        cam = StreamingCamera(hub.endpoint, name, **kw)  # type: ignore[arg-type]
        started.append(cam)
        return cam

    yield start
    for cam in started:
        cam.stop()


@pytest.fixture(scope="module")
def packets() -> list[VideoPacket]:
    """A 2-second H.264 loop (320x240, a keyframe every 15 packets)."""
    return h264_loop(30, (320, 240), gop=15)


@pytest.fixture
def video_door(hub: camhub.Hub, packets: list[VideoPacket]) -> Iterator[VideoCamera]:
    """Camera "door" sending ``packets`` into the hub at 15 fps."""
    cam = VideoCamera(hub, "door", packets, fps=15)
    wait_until(lambda: hub.camera_stats("door") is not None, what="the video camera")
    yield cam
    cam.stop()


def evaluate_until(
    page: object,
    script: str,
    arg: object,
    check: Callable[[Any], bool],
    timeout: float = 30,
    what: str = "",
) -> Any:
    """Run ``script`` in the page until its answer passes ``check`` (polled from Python:
    the pages' CSP rightly forbids the eval that Playwright's wait_for_function uses)."""
    deadline = time.monotonic() + timeout
    while True:
        got = page.evaluate(script, arg)  # type: ignore[attr-defined]
        if got is not None and check(got):
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}: last {got}")
        time.sleep(0.1)


@pytest.fixture
def api(hub: camhub.Hub) -> Iterator[TestClient]:
    """The dashboard's app in this process (Starlette's TestClient), for tests of what
    the HTTP API answers, where no socket is the point: no uvicorn, no port."""
    with TestClient(create_app(hub, hub.processors)) as client:
        yield client


@pytest.fixture
def web(hub: camhub.Hub) -> Iterator[WebServer]:
    server = WebServer(hub, "127.0.0.1:0", processors=hub.processors).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser(playwright: object) -> Iterator[object]:
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)  # type: ignore[attr-defined]
    yield b
    b.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context()  # type: ignore[attr-defined]
    pg = context.new_page()
    yield pg
    context.close()
