"""Tracked objects drawn in a real browser from the live stream's JSON records."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import camhub
from camhub.detect.pool import DetectorSpec
from camhub.detect.scheduler import CameraSettings, ObjectDetection
from camhub.detect.zones import Line, Zone
from camhub.web import WebServer
from tests.detect.scene import Walker, background, cameraman, render
from tests.web.conftest import StreamingCamera

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

OVERLAY = """() => Array.from(document.querySelectorAll('.tile')).map(t => {
  const svg = t.querySelector('svg.objects');
  return {
    camera: t.dataset.camera,
    objects: svg ? Number(svg.dataset.objects) : -1,
    hidden: svg ? svg.hidden : null,
    labels: svg ? Array.from(svg.querySelectorAll('.box-label')).map(n => n.textContent) : [],
    zones: svg ? svg.querySelectorAll('polygon.zone').length : 0,
    lines: svg ? svg.querySelectorAll('line.count-line').length : 0,
    counts: t.querySelector('.counts').textContent,
    countsHidden: t.querySelector('.counts').hidden,
  };
})"""


def scene_jpegs() -> list[bytes]:
    bg = background()
    walker = [Walker(cameraman(), 10, 470, 0.0, 4.0)]
    frames = [render(walker, i / 10, bg)[0] for i in range(41)]
    frames += [bg] * 20
    return [camhub.encode_jpeg(f) for f in frames]


@pytest.fixture
def detecting_web(hub: camhub.Hub) -> Iterator[WebServer]:
    settings = CameraSettings(
        detect_fps=5,
        zones=[Zone("left", ((0, 0), (320, 0), (320, 480), (0, 480)))],
        lines=[Line("door", (320, 0), (320, 480))],
    )
    det = ObjectDetection(
        hub.store, hub.bus, DetectorSpec("darknet"), labels=["person"], cameras={"porch": settings}
    ).start()
    server = WebServer(hub, "127.0.0.1:0", detection=det).start()
    yield server
    server.stop()
    det.stop()


def overlay(
    page: Any, check: Callable[[list[dict[str, Any]]], bool], what: str
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 60
    while True:
        current: list[dict[str, Any]] = page.evaluate(OVERLAY)
        if check(current):
            return current
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; overlay: {current}")
        time.sleep(0.1)


def test_boxes_track_ids_zones_and_counts_are_drawn_and_can_be_hidden(
    page: Any, hub: camhub.Hub, detecting_web: WebServer
) -> None:
    cam = StreamingCamera(hub.endpoint, "porch", fps=10, frames=scene_jpegs(), size=(640, 480))
    try:
        page.goto(detecting_web.url)
        tile = overlay(page, lambda ts: bool(ts) and ts[0]["objects"] >= 1, "a tracked person")[0]
        assert tile["labels"][0].startswith("#") and " person " in tile["labels"][0]
        assert tile["zones"] == 1 and tile["lines"] == 1
        assert tile["hidden"] is False
        overlay(page, lambda ts: "door in 1 / out 0" in ts[0]["counts"], "the door count")
        page.uncheck("#objects")
        tile = overlay(page, lambda ts: ts[0]["hidden"] is True, "the overlay hidden")[0]
        assert tile["countsHidden"] is True
        # The choice survives a reload.
        page.reload()
        overlay(page, lambda ts: bool(ts) and ts[0]["hidden"] is True, "still hidden after reload")
        assert page.is_checked("#objects") is False
    finally:
        cam.stop()


CAMERA_PAGE = """() => ({
  views: Array.from(document.querySelectorAll('.view-fig')).map(f => f.dataset.view),
  objects: Number((document.querySelector('.view-fig[data-view="live"] svg.objects') || {dataset: {objects: -1}}).dataset.objects),
  line: document.getElementById('objects-line').textContent,
  health: (document.querySelector('.proc-block.detection') || {textContent: ''}).textContent,
})"""


def test_the_camera_page_draws_objects_on_the_live_view_only(
    page: Any, hub: camhub.Hub, detecting_web: WebServer
) -> None:
    cam = StreamingCamera(hub.endpoint, "porch", fps=10, frames=scene_jpegs(), size=(640, 480))
    try:
        page.goto(detecting_web.url + "camera?name=porch")
        deadline = time.monotonic() + 60
        while True:
            state = page.evaluate(CAMERA_PAGE)
            if state["objects"] >= 1 and "inferences" in state["health"]:
                break
            assert time.monotonic() < deadline, f"no objects drawn: {state}"
            time.sleep(0.1)
        assert state["views"] == ["live"]  # the JSON records never become a picture view
        assert "person" in state["line"]
        assert state["health"].startswith("object detection: ok")
        assert "ms per inference" in state["health"]
    finally:
        cam.stop()
