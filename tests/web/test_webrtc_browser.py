"""Live video over WebRTC in a real browser (Debian's chromium through Playwright, aiortc
on the hub): an H.264 camera plays as a WebRTC track on its page and in the grid, the
camera's own packets sent on with no decode and no encode on the hub; a page whose
WebRTC cannot connect falls back to MSE; bad offers get a clear error."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import camhub
from camhub.web import WebServer
from tests.conftest import wait_until
from tests.web.conftest import evaluate_until
from tests.web.live_camera import VideoCamera

pytest.importorskip("aiortc", reason="aiortc is installed by scripts/setup")


def _has_lan_address() -> bool:
    """ICE (aiortc's and chromium's) leaves loopback out: WebRTC between two processes
    needs an interface with another address, as on any LAN machine."""
    import ifaddr  # aiortc's own dependency (through aioice)

    return any(
        not str(ip.ip[0] if isinstance(ip.ip, tuple) else ip.ip).startswith(("127.", "::1"))
        for adapter in ifaddr.get_adapters()
        for ip in adapter.ips
    )


if not _has_lan_address():
    pytest.skip("no network interface but loopback: ICE has no candidate", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

LIVE_FIGURE = """() => {
  const f = document.querySelector('figure[data-view="live"]');
  const v = f && f.querySelector('video');
  if (!v) return null;
  return {mode: f.dataset.mode || null, transport: v.dataset.transport || null,
    rtc_error: v.dataset.webrtcError || null, time: v.currentTime, width: v.videoWidth,
    height: v.videoHeight, frames: v.getVideoPlaybackQuality().totalVideoFrames};
}"""

TILE = """(name) => {
  const t = document.querySelector(`.tile[data-camera="${name}"]`);
  const v = t && t.querySelector('video');
  return v && {mode: t.dataset.mode || null, transport: v.dataset.transport || null,
    time: v.currentTime, width: v.videoWidth};
}"""


def test_camera_page_plays_the_camera_over_webrtc(
    hub: camhub.Hub, web: WebServer, video_door: VideoCamera, page: Any
) -> None:
    page.goto(web.url + "camera?name=door")
    first = evaluate_until(page, LIVE_FIGURE, None, lambda f: f["transport"] == "webrtc" and f["time"] > 0.3,
                 what="the WebRTC video to play")  # fmt: skip
    assert first["mode"] == "video" and first["rtc_error"] is None
    assert (first["width"], first["height"]) == (320, 240)
    later = evaluate_until(page, LIVE_FIGURE, None, lambda f: f["time"] >= first["time"] + 1.5,
                 what="the WebRTC video to keep playing")  # fmt: skip
    assert later["frames"] > first["frames"] and later["transport"] == "webrtc"
    stats = hub.camera_stats("door")
    assert stats is not None and not stats.decoding, "WebRTC must not make the hub decode"
    assert web.dashboard.broadcaster.latest_at(("door", "live")) is None
    live = web.app.state.live.stats()
    assert live.viewers == 1 and live.fragments_sent > 20  # packets handed to aiortc


def test_grid_plays_the_camera_over_webrtc(
    hub: camhub.Hub, web: WebServer, video_door: VideoCamera, page: Any
) -> None:
    page.goto(web.url)
    evaluate_until(page, TILE, "door", lambda t: t["transport"] == "webrtc" and t["time"] > 0.3
         and t["width"] == 320, what="the grid tile's WebRTC video")  # fmt: skip


def test_a_page_whose_webrtc_cannot_connect_falls_back_to_mse(
    hub: camhub.Hub, web: WebServer, video_door: VideoCamera, browser: Any
) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        # The page's offer is refused (as by a proxy that does not pass the POST).
        page.route("**/webrtc", lambda route: route.fulfill(status=502, body="bad gateway"))
        page.goto(web.url + "camera?name=door")
        got = evaluate_until(page, LIVE_FIGURE, None, lambda f: f["transport"] == "mse" and f["time"] > 0.3,
                   what="the MSE fallback to play")  # fmt: skip
        assert got["rtc_error"] == "HTTP 502"
    finally:
        context.close()


def test_offers_are_checked(
    hub: camhub.Hub, web: WebServer, video_door: VideoCamera, cameras: Any
) -> None:
    cameras("yard")
    wait_until(lambda: hub.camera_stats("yard") is not None, what="the JPEG camera")
    url = web.url + "api/cameras/{}/webrtc"
    bad = httpx.post(url.format("door"), content=b"{not json", timeout=5)
    assert bad.status_code == 400 and "offer" in bad.json()["error"]
    jpeg = httpx.post(url.format("yard"), json={"type": "offer", "sdp": "v=0"}, timeout=5)
    assert jpeg.status_code == 409 and "H.264" in jpeg.json()["error"]
    gone = httpx.post(url.format("nobody"), json={"type": "offer", "sdp": "v=0"}, timeout=5)
    assert gone.status_code == 404
    garbage = httpx.post(url.format("door"), json={"type": "offer", "sdp": "v=0"}, timeout=5)
    assert garbage.status_code == 400 and "cannot answer" in garbage.json()["error"]
    assert web.app.state.live.stats().viewers == 0, "a refused offer leaves no viewer behind"
