"""The grid's and the camera page's details, each defect of issue 18 in chromium: the
"objects" box with detection off, the first paint, processed-view captions, box labels
on small tiles, the empty grid's hint, /phones without --phones, and the camera page
(fits the window, stats beside it, link to its history, placeholders in words)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import camhub
from camhub.web import WebServer
from tests.conftest import wait_until
from tests.web.conftest import StreamingCamera

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]


def _shown(page: Any, selector: str) -> int:
    return int(page.locator(selector).evaluate("i => Number(i.dataset.shown || 0)"))


def test_objects_box_is_off_when_detection_is(
    page: Any, web: WebServer, cameras: Callable[..., StreamingCamera]
) -> None:
    cameras("porch")
    page.goto(web.url)
    page.evaluate("() => localStorage.setItem('camhub.objects.shown', '1')")  # a past choice
    page.reload()
    wait_until(lambda: page.locator(".tile").count() == 1, what="the tile")
    wait_until(lambda: page.locator("#objects-switch.off").count() == 1, what="the switch off")
    box = page.locator("#objects")
    assert not box.is_checked() and box.is_disabled()
    assert "--detect" in (page.locator("#objects-switch").get_attribute("title") or "")
    page.goto(web.url + "camera?name=porch")
    wait_until(lambda: page.locator("#objects-switch.off").count() == 1, what="the page's switch")
    assert not page.locator("#objects").is_checked()


def test_first_paint_never_says_reconnecting(
    page: Any, web: WebServer, cameras: Callable[..., StreamingCamera]
) -> None:
    cameras("porch")
    page.add_init_script(
        "window.said = []; new MutationObserver(() => { const s = document.getElementById("
        "'summary'); if (s) said.push(s.textContent); }).observe(document, "
        "{subtree: true, childList: true, characterData: true});"
    )
    page.goto(web.url)
    wait_until(lambda: _shown(page, ".tile img") >= 3, what="pictures")
    said = page.evaluate("() => said")
    assert said and not [s for s in said if "reconnecting" in s], said


def test_processed_view_caption_agrees_with_its_picture(
    page: Any, hub: camhub.Hub, cameras: Callable[..., StreamingCamera]
) -> None:
    runner = hub.add_processor("motion", cameras=["porch"])
    cameras("porch", fps=15)  # a bar moving: the motion processor sees regions
    with WebServer(hub, "127.0.0.1:0", processors=[runner]) as web:
        page.goto(web.url)
        wait_until(lambda: "motion:" in page.locator(".tile .proc").inner_text(), what="a verdict")
        page.locator("#processed").check()
        tile = page.locator(".tile")
        wait_until(lambda: tile.get_attribute("data-view") == "motion", what="the motion view")
        seen = set()
        for _ in range(20):  # the caption names the view; the verdict is on the picture
            seen.add(tile.locator(".proc").inner_text())
            time.sleep(0.05)
        assert seen == {"motion view"}, seen
        page.locator("#processed").uncheck()
        wait_until(lambda: tile.get_attribute("data-view") == "live", what="the live view")
        wait_until(lambda: "motion:" in tile.locator(".proc").inner_text(), what="the verdict back")


def test_box_labels_are_readable_on_grid_tiles(
    page: Any, web: WebServer, cameras: Callable[..., StreamingCamera]
) -> None:
    cameras("porch", size=(640, 480))
    page.set_viewport_size({"width": 1366, "height": 800})
    page.goto(web.url)
    wait_until(lambda: _shown(page, ".tile img") >= 1, what="a picture")
    objects = {
        "width": 640, "height": 480, "status": "ok", "zones": [], "lines": [],
        "counts": {"objects": {"person": 1}},
        "objects": [{"id": 7, "label": "person", "score": 0.91, "box": [200, 120, 90, 220], "seen": True}],
    }  # fmt: skip
    page.evaluate(
        "data => camhubObjects.draw(document.querySelector('.tile .view'), data,"
        " document.querySelector('.tile .counts'))",
        objects,
    )
    tile_w = page.locator(".tile .view").bounding_box()["width"]
    label = page.locator(".tile svg.objects .box-label").bounding_box()
    assert tile_w < 640 * 0.7  # the picture is drawn small
    assert label["height"] >= 12, label  # and its label still reads (it was ~7 px)


def test_empty_grid_names_the_real_port(page: Any, hub: camhub.Hub, web: WebServer) -> None:
    port = hub.endpoint.rsplit(":", 1)[1]
    assert port != "5555"
    page.goto(web.url)
    wait_until(lambda: page.locator("#empty").is_visible(), what="the empty grid")
    wait_until(lambda: port in page.locator("#send-hint").inner_text(), what="the real port")
    assert page.locator("#send-hint").inner_text() == (
        f"camhub send testsrc: --hub tcp://127.0.0.1:{port}"
    )


def test_phones_page_without_phones_says_how(page: Any, web: WebServer) -> None:
    resp = httpx.get(web.url + "phones", timeout=5)
    assert resp.status_code == 404 and "text/html" in resp.headers["content-type"]
    page.goto(web.url + "phones")
    assert page.locator("h1").inner_text() == "Phones are off on this hub"
    assert "camhub hub --phones" in page.locator("main").inner_text()


def test_camera_page_fits_the_window_with_stats_beside_and_history_link(
    page: Any, web: WebServer, cameras: Callable[..., StreamingCamera]
) -> None:
    cameras("porch", size=(640, 480))
    page.set_viewport_size({"width": 1366, "height": 800})
    page.goto(web.url + "camera?name=porch")
    wait_until(lambda: _shown(page, ".view-fig img") >= 2, what="pictures")
    fig = page.locator('.view-fig[data-view="live"]').bounding_box()
    assert fig["y"] + fig["height"] <= 800  # picture and caption above the fold
    stats = page.locator("#stats").bounding_box()
    assert stats["x"] >= fig["x"] + fig["width"]  # the stats beside it
    assert page.locator("figcaption").first.inner_text() == "live"
    assert page.locator("#history").get_attribute("href") == "/events?camera=porch"


def test_camera_page_of_a_camera_not_connected_says_what_is_wrong(
    page: Any, hub: camhub.Hub, web: WebServer
) -> None:
    hub.store.declare("porch", source="rtsp://192.0.2.1/stream")
    page.goto(web.url + "camera?name=porch")
    holder = page.locator('.view-fig[data-view="live"] .placeholder')
    wait_until(lambda: holder.is_visible(), what="the placeholder")
    assert holder.inner_text().startswith("Not connected: the hub has not received a frame")
    assert "rtsp://192.0.2.1/stream" in holder.inner_text()
    assert not page.locator('.view-fig[data-view="live"] img').is_visible()  # no broken image
    caption = page.locator('.view-fig[data-view="live"] figcaption').inner_text()
    assert caption == "no picture yet" and "live" not in caption
    badge = page.locator("#badge")
    assert badge.inner_text() == "not connected"
    colour = badge.evaluate("b => getComputedStyle(b).backgroundColor")
    assert colour == holder.evaluate("h => getComputedStyle(h).color")  # the state's colour
    assert colour != "rgb(63, 191, 127)"  # not the green of "live"
    # and in the grid: words on the tile, not a broken image
    page.goto(web.url)
    tile_holder = page.locator(".tile .placeholder")
    wait_until(lambda: tile_holder.is_visible(), what="the tile's placeholder")
    assert tile_holder.inner_text() == "not connected yet"
    tile_badge = page.locator(".tile .badge").evaluate("b => getComputedStyle(b).backgroundColor")
    assert tile_badge == colour == tile_holder.evaluate("h => getComputedStyle(h).color")
    assert re.fullmatch(r"rgb\(\d+, \d+, \d+\)", colour)


def test_a_playing_video_camera_has_no_placeholder_over_it(
    page: Any, hub: camhub.Hub, web: WebServer
) -> None:
    from tests.web.live_camera import VideoCamera, h264_loop

    page.add_init_script("delete window.RTCPeerConnection;")  # MSE: no STUN wait here
    cam = VideoCamera(hub, "door", h264_loop(30, (320, 240), gop=15), fps=15)
    try:
        wait_until(lambda: hub.camera_stats("door") is not None, what="the video camera")
        page.goto(web.url)
        tile = page.locator('.tile[data-camera="door"]')
        wait_until(
            lambda: (
                tile.get_attribute("data-mode") == "video"
                and tile.locator("video").evaluate("v => v.currentTime") > 0.5
            ),
            timeout=20,
            what="the tile's video",
        )
        time.sleep(1.2)  # a poll's render after the video plays
        assert not tile.locator(".placeholder").is_visible()
        page.goto(web.url + "camera?name=door")
        fig = page.locator('figure[data-view="live"]')
        wait_until(
            lambda: (
                fig.get_attribute("data-mode") == "video"
                and fig.locator("video").evaluate("v => v.currentTime") > 0.5
            ),
            timeout=20,
            what="the page's video",
        )
        time.sleep(1.2)
        assert not fig.locator(".placeholder").is_visible()
        assert fig.locator("figcaption").inner_text() == "live"
    finally:
        cam.stop()
