"""Events and recordings over HTTP and in a real browser: a real hub service with the
motion processor, recording on events, real senders, the API, the live event stream,
and the events page playing a clip in Debian's chromium."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest

import camhub
from camhub.config import FleetConfig
from camhub.service import HubService
from tests.conftest import wait_until
from tests.web.conftest import StreamingCamera

pytestmark = pytest.mark.timeout(120)


def _scene(still: int, moving: int) -> list[bytes]:
    """A loop: ``still`` frames of an empty yard, then a box crossing it."""
    out = []
    for i in range(still + moving):
        img = np.full((120, 160, 3), 70, np.uint8)
        img[:, :, 1] = np.linspace(30, 160, 160, dtype=np.uint8)[None, :]
        if i >= still:
            x = 5 + ((i - still) * 6) % 120
            img[40:90, x : x + 30] = 250
        out.append(camhub.encode_jpeg(img, quality=80))
    return out


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubService]:
    data: Path = tmp_path_factory.mktemp("data")
    hub = {
        "bind": "tcp://127.0.0.1:0",
        "web": "127.0.0.1:0",
        "offline_after": 1.0,
        "processors": ["motion:yard"],
        "status_every": 0,
        "data": str(data),
        "record": {"mode": "events", "pre_roll": 1.0, "post_roll": 1.0, "min_free_gb": 0},
    }
    svc = HubService(FleetConfig.model_validate({"hub": hub})).start()
    assert svc.hub is not None
    yard = StreamingCamera(svc.hub.endpoint, "yard", fps=15, frames=_scene(75, 30), size=(160, 120))
    yield svc
    yard.stop()
    svc.stop()


def _ended_motion(url: str) -> dict[str, Any]:
    found: dict[str, Any] = {}

    def check() -> bool:
        events = httpx.get(url + "api/events?label=motion&camera=yard", timeout=5).json()
        done = [e for e in events["events"] if e["end"] is not None]
        if done:
            found.update(done[-1])
        return bool(done)

    wait_until(check, timeout=40, what="a motion event that ended")
    return found


def test_api_lists_events_with_snapshots_and_clips(service: HubService) -> None:
    url = service.url
    assert url is not None
    event = _ended_motion(url)
    assert event["camera"] == "yard" and event["has_snapshot"]
    got = httpx.get(url + f"api/events/{event['id']}", timeout=5).json()
    assert got["id"] == event["id"] and got["label"] == "motion" and got["box"]
    snap = httpx.get(url + event["links"]["snapshot"].lstrip("/"), timeout=5)
    assert snap.headers["content-type"] == "image/jpeg"
    assert camhub.decode_jpeg(snap.content).shape == (120, 160, 3)
    clip = httpx.get(url + event["links"]["clip"].lstrip("/"), timeout=60)
    assert clip.status_code == 200 and clip.headers["content-type"] == "video/mp4"
    path = Path(service.data or ".") / "downloaded.mp4"
    path.write_bytes(clip.content)
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        assert video.codec_context.name == "h264"
        frames = list(container.decode(video))
    assert len(frames) >= 10
    span = float((frames[-1].pts - frames[0].pts) * video.time_base)
    assert span >= (event["end"] - event["start"]) - 0.2  # the event, plus pre/post roll
    segments = httpx.get(url + "api/recordings?camera=yard", timeout=5).json()["segments"]
    assert segments and all(s["camera"] == "yard" for s in segments)


def test_api_errors_are_json_with_reasons(service: HubService) -> None:
    url = service.url
    assert url is not None
    for path in ("api/events/nope", "api/events/nope/snapshot.jpg", "api/events/nope/clip.mp4"):
        resp = httpx.get(url + path, timeout=5)
        assert resp.status_code == 404 and "no event with id 'nope'" in resp.json()["error"]
    resp = httpx.get(url + "api/recordings/clip.mp4?camera=yard&start=1000&end=1010", timeout=5)
    assert resp.status_code == 409 and "no recording of camera 'yard'" in resp.json()["error"]
    resp = httpx.get(url + "api/events?after=yesterday", timeout=5)
    assert resp.status_code == 400 and "after must be a number" in resp.json()["error"]
    resp = httpx.get(url + "api/recordings/clip.mp4?camera=yard", timeout=5)
    assert resp.status_code == 400
    metrics = httpx.get(url + "metrics", timeout=5).text
    assert "camhub_recording_healthy 1" in metrics
    assert 'camhub_recorded_frames_total{camera="yard"}' in metrics


def test_live_stream_sends_offline_and_online(service: HubService) -> None:
    url = service.url
    assert service.hub is not None and url is not None
    got: list[dict[str, Any]] = []
    ready = threading.Event()

    def listen() -> None:
        with httpx.stream("GET", url + "api/events/stream", timeout=30) as resp:
            ready.set()
            for line in resp.iter_lines():
                if line.startswith("data: "):
                    msg = json.loads(line[6:])
                    if msg["after"]["camera"] == "gate":
                        got.append(msg)
                        if msg["type"] == "end":
                            return

    reader = threading.Thread(target=listen, daemon=True)
    reader.start()
    assert ready.wait(10)
    gate = StreamingCamera(service.hub.endpoint, "gate", fps=10)
    time.sleep(1.0)
    gate.stop()  # silent for longer than offline_after
    wait_until(lambda: any(m["type"] == "new" for m in got), timeout=15, what="offline event")
    gate = StreamingCamera(service.hub.endpoint, "gate", fps=10)
    reader.join(15)
    gate.stop()
    assert [m["type"] for m in got] == ["new", "end"]
    assert all(m["after"]["label"] == "offline" for m in got)
    assert got[1]["after"]["end"] >= got[0]["after"]["start"]


@pytest.mark.browser
def test_events_page_lists_events_and_plays_a_clip(service: HubService, page: Any) -> None:
    url = service.url
    assert url is not None
    _ended_motion(url)
    page.goto(url + "events")
    deadline = time.monotonic() + 20
    while page.locator(".event .tag.motion").count() == 0:
        assert time.monotonic() < deadline, "no motion event on the page"
        page.reload() if time.monotonic() > deadline - 10 else time.sleep(0.2)
    page.wait_for_selector(".lane .seg", timeout=10_000)  # the timeline shows recordings
    page.wait_for_selector(".lane .mark.motion", timeout=10_000)  # and the events
    thumb = page.locator(".event .tag.motion").first.locator("xpath=..")
    assert thumb.locator("img").evaluate("img => img.naturalWidth") > 0
    thumb.click()
    state: dict[str, Any] = {}
    deadline = time.monotonic() + 60
    while True:
        state = page.locator("#player").evaluate(
            "v => ({ready: v.readyState, duration: v.duration, error: v.error && v.error.code})"
        )
        if state["ready"] >= 2 and state["duration"] > 0:
            break
        assert state["error"] is None, f"the video failed: {state}"
        assert time.monotonic() < deadline, f"the clip never became playable: {state}"
        time.sleep(0.2)


@pytest.mark.browser
def test_events_page_opens_filtered_by_camera(service: HubService, page: Any) -> None:
    url = service.url
    assert url is not None
    _ended_motion(url)
    page.goto(url + "events?camera=nobody")
    time.sleep(1.5)
    assert page.locator("#camera").input_value() == "nobody"
    assert page.locator(".event").count() == 0  # nothing from the other cameras
    page.goto(url + "events?camera=yard&label=motion")
    deadline = time.monotonic() + 15
    while page.locator(".event").count() == 0:
        assert time.monotonic() < deadline, "no events for yard"
        time.sleep(0.2)
    tags = page.locator(".event .tag").all_text_contents()
    assert tags and all(t == "motion" for t in tags)
