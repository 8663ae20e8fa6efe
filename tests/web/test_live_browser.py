"""Live video in a real browser (Debian's chromium through Playwright), the MSE path: a
video camera plays as video in the grid and on its page (fMP4 over the live WebSocket),
the picture advances and has the camera's size, the hub decodes nothing for it; a JPEG
camera keeps its JPEG pictures beside it; without MSE the page falls back to JPEG.
(These pages have no WebRTC, so they use MSE; test_webrtc_browser.py covers WebRTC.)"""

from __future__ import annotations

from typing import Any

import pytest

import camhub
from camhub.web import WebServer
from tests.web.conftest import evaluate_until
from tests.web.live_camera import VideoCamera

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

TILE = """(name) => {
  const t = document.querySelector(`.tile[data-camera="${name}"]`);
  if (!t) return null;
  const v = t.querySelector('video'), img = t.querySelector('img');
  return {mode: t.dataset.mode || null, error: t.dataset.videoError || null,
    transport: v.dataset.transport || null,
    time: v.currentTime, width: v.videoWidth, height: v.videoHeight, hidden: v.hidden,
    img_hidden: img.hidden, shown: Number(img.dataset.shown || 0),
    frames: v.getVideoPlaybackQuality().totalVideoFrames};
}"""

LIVE_FIGURE = """() => {
  const f = document.querySelector('figure[data-view="live"]');
  const v = f && f.querySelector('video');
  if (!v) return null;
  return {mode: f.dataset.mode || null, transport: v.dataset.transport || null,
    time: v.currentTime, width: v.videoWidth,
    height: v.videoHeight, hidden: v.hidden, img_hidden: f.querySelector('img').hidden};
}"""


NO_WEBRTC = "delete window.RTCPeerConnection;"


@pytest.fixture
def mse_page(page: Any) -> Any:
    page.add_init_script(NO_WEBRTC)
    return page


def test_grid_plays_a_video_camera_as_video_and_a_jpeg_camera_as_jpeg(
    hub: camhub.Hub, web: WebServer, video_door: VideoCamera, cameras: Any, mse_page: Any
) -> None:
    page = mse_page
    cameras("yard", size=(96, 72))
    page.goto(web.url)
    first = evaluate_until(page, TILE, "door", lambda t: t["mode"] == "video" and t["time"] > 0.5,
                 what="the video tile to play")  # fmt: skip
    assert not first["hidden"] and first["img_hidden"] and first["error"] is None
    assert first["transport"] == "mse"
    assert (first["width"], first["height"]) == (320, 240)
    later = evaluate_until(page, TILE, "door", lambda t: t["time"] >= first["time"] + 1.5,
                 what="the video to keep playing")  # fmt: skip
    assert later["frames"] > first["frames"]
    yard = evaluate_until(page, TILE, "yard", lambda t: t["mode"] == "jpeg" and t["shown"] >= 5,
                what="the JPEG tile's pictures")  # fmt: skip
    assert yard["hidden"] and not yard["img_hidden"]
    stats = hub.camera_stats("door")
    assert stats is not None and not stats.decoding, "the hub decoded the video camera"
    assert web.dashboard.broadcaster.latest_at(("door", "live")) is None


def test_camera_page_plays_the_video(
    hub: camhub.Hub, web: WebServer, video_door: VideoCamera, mse_page: Any
) -> None:
    page = mse_page
    page.goto(web.url + "camera?name=door")
    first = evaluate_until(page, LIVE_FIGURE, None, lambda f: f["mode"] == "video" and f["time"] > 0.5,
                 what="the camera page's video")  # fmt: skip
    assert (first["width"], first["height"]) == (320, 240) and first["img_hidden"]
    assert first["transport"] == "mse"
    evaluate_until(page, LIVE_FIGURE, None, lambda f: f["time"] >= first["time"] + 1.5,
         what="the camera page's video to keep playing")  # fmt: skip
    stats = hub.camera_stats("door")
    assert stats is not None and not stats.decoding


def test_without_mse_a_video_camera_falls_back_to_jpeg(
    hub: camhub.Hub, web: WebServer, video_door: VideoCamera, browser: Any
) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.add_init_script(
            NO_WEBRTC + "delete window.MediaSource; delete window.ManagedMediaSource;"
        )
        page.goto(web.url)
        tile = evaluate_until(page, TILE, "door", lambda t: t["mode"] == "jpeg" and t["shown"] >= 5,
                    what="JPEG pictures of the video camera")  # fmt: skip
        assert tile["hidden"] and not tile["img_hidden"]
        stats = hub.camera_stats("door")
        assert stats is not None and stats.decoding, "JPEG of a video camera is decoded on demand"
    finally:
        context.close()
