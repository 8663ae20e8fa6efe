"""A video camera's recordings over HTTP and in chromium: segments are listed with
their container, codec and MIME type and served for direct play (ranges too), clips
are remuxes streamed with a known length, JPEG segments are refused with a reason, and
too many clips at once get 429 with Retry-After."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import camhub
from camhub.history import History
from camhub.record.settings import CameraRecording, RecordSettings
from camhub.types import Frame
from camhub.video.packet import VideoPacket
from camhub.web import WebServer, events_api
from tests.conftest import wait_until
from tests.record.helpers import jpeg_at
from tests.video.coded import elementary_stream, encode, ffmpeg_md5s, scene
from tests.video.player import launch, play_url

pytestmark = pytest.mark.timeout(120)
FPS = 15
COUNT = 90


class Recorded:
    def __init__(self, url: str, t0: float, want: list[str]) -> None:
        self.url, self.t0, self.want = url, t0, want


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    data: Path = tmp_path_factory.mktemp("data")
    packets: list[VideoPacket] = encode("h264", scene(COUNT, (320, 240)), gop=15)
    raw, fmt = elementary_stream(packets)
    (data / "raw").write_bytes(raw)
    want = ffmpeg_md5s(str(data / "raw"), fmt)[0]
    hub = camhub.Hub("tcp://127.0.0.1:0").start()
    settings = RecordSettings(
        default=CameraRecording("continuous"), segment_seconds=2.0, min_free_gb=0
    )
    history = History(hub.store, hub.bus, data, settings).start()
    web = WebServer(hub, "127.0.0.1:0", history=history).start()
    t0 = time.time() - 60
    for i, p in enumerate(packets):
        at = t0 + i / FPS
        hub.store.put(Frame("door", video=p, seq=i, captured_at=at, received_at=at), "test")
        hub.store.put(Frame("yard", jpeg=jpeg_at(i), seq=i, received_at=at), "test")
        if i < 30 and i != 20:  # this camera's packet 20 is lost
            hub.store.put(Frame("lossy", video=p, seq=i, captured_at=at, received_at=at), "test")
    rec = history.recorder
    assert rec is not None
    wait_until(lambda: rec.seen >= 2 * COUNT + 29, what="the recorder to take every frame")
    wait_until(lambda: len(history.index.find("door")) == 3, what="three video segments")
    # The last group is held until its segment closes (the camera went quiet): the clip
    # tests want all of it on disk.
    wait_until(
        lambda: all(c.buffered == 0 for c in rec.stats().cameras),
        timeout=30,
        what="the recorder to write the last fragment",
    )
    yield Recorded(web.url, t0, want)
    web.stop()
    hub.stop()
    history.stop()


@pytest.fixture(scope="module")
def page(playwright: Any) -> Iterator[Any]:
    browser = launch(playwright)
    yield browser.new_page()
    browser.close()


def _segments(url: str, camera: str) -> list[dict[str, Any]]:
    listed = httpx.get(url + f"api/recordings?camera={camera}", timeout=5).json()
    segments: list[dict[str, Any]] = listed["segments"]
    return segments


def test_segments_say_what_they_hold_and_play_directly(recorded: Recorded, tmp_path: Path) -> None:
    segs = _segments(recorded.url, "door")
    assert [s["container"] for s in segs] == ["fmp4"] * 3
    assert all(
        s["codec"] == "h264" and s["mime"].startswith('video/mp4; codecs="avc1.') for s in segs
    )
    first = segs[0]
    assert first["url"] == f"/api/recordings/{first['id']}.mp4"
    resp = httpx.get(recorded.url + first["url"].lstrip("/"), timeout=5)
    assert resp.status_code == 200 and resp.headers["content-type"] == "video/mp4"
    (tmp_path / "seg.mp4").write_bytes(resp.content)
    assert ffmpeg_md5s(str(tmp_path / "seg.mp4")) == (recorded.want[:30], "")
    part = httpx.get(
        recorded.url + first["url"].lstrip("/"), headers={"Range": "bytes=0-99"}, timeout=5
    )
    assert part.status_code == 206 and part.content == resp.content[:100]


def test_jpeg_segments_and_unknown_ones_are_refused_with_a_reason(recorded: Recorded) -> None:
    (jpeg, *_) = _segments(recorded.url, "yard")
    assert jpeg["container"] == "cseg" and "url" not in jpeg
    resp = httpx.get(recorded.url + f"api/recordings/{jpeg['id']}.mp4", timeout=5)
    assert resp.status_code == 409 and "clip.mp4" in resp.json()["error"]
    resp = httpx.get(recorded.url + "api/recordings/999999.mp4", timeout=5)
    assert resp.status_code == 404 and "999999" in resp.json()["error"]


def test_a_range_clip_is_a_remux_streamed_with_its_length(
    recorded: Recorded, tmp_path: Path
) -> None:
    t0 = recorded.t0
    query = f"api/recordings/clip.mp4?camera=door&start={t0 + 1.5}&end={t0 + 4.5}"
    with httpx.stream("GET", recorded.url + query, timeout=10) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"] == "video/mp4"
        length = int(resp.headers["content-length"])
        body = resp.read()
    assert len(body) == length
    (tmp_path / "clip.mp4").write_bytes(body)
    assert ffmpeg_md5s(str(tmp_path / "clip.mp4")) == (recorded.want[15:75], "")


def test_the_browser_plays_a_segment_and_a_clip(recorded: Recorded, page: Any) -> None:
    seg = _segments(recorded.url, "door")[1]
    got = play_url(page, recorded.url + seg["url"].lstrip("/"))
    assert got["ended"] and got["error"] is None, got
    assert got["frames"] == 30 and got["width"] == 320
    t0 = recorded.t0
    clip = f"api/recordings/clip.mp4?camera=door&start={t0}&end={t0 + 10}"
    got = play_url(page, recorded.url + clip)
    assert got["ended"] and got["error"] is None, got
    assert got["frames"] == COUNT and got["duration"] == pytest.approx(COUNT / FPS, abs=0.01)


def test_too_many_clips_at_once_wait(recorded: Recorded, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events_api, "MAX_CLIP_STREAMS", 0)
    t0 = recorded.t0
    resp = httpx.get(
        recorded.url + f"api/recordings/clip.mp4?camera=door&start={t0}&end={t0 + 5}", timeout=5
    )
    assert resp.status_code == 429 and resp.headers["retry-after"] == "1"
    monkeypatch.setattr(events_api, "MAX_CLIP_STREAMS", 1)
    for _ in range(3):  # each finished stream gives its place back
        resp = httpx.get(
            recorded.url + f"api/recordings/clip.mp4?camera=door&start={t0}&end={t0 + 5}", timeout=5
        )
        assert resp.status_code == 200


def test_lost_packets_are_counted_in_the_api_and_metrics(recorded: Recorded) -> None:
    status = httpx.get(recorded.url + "api/recording", timeout=5).json()
    (lossy,) = [c for c in status["recorder"]["cameras"] if c["camera"] == "lossy"]
    assert (lossy["codec"], lossy["frames"], lossy["skipped"]) == ("h264", 20, 9)
    metrics = httpx.get(recorded.url + "metrics", timeout=5).text
    assert 'camhub_recording_skipped_packets_total{camera="lossy"} 9' in metrics
