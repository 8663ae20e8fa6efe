"""The dashboard never shows a stale picture as live: stale, offline and hub-down tiles in
a real browser (Debian's chromium through Playwright), and a grid whose text never overlaps."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest

import camhub
from camhub.web import WebServer
from tests.conftest import wait_until
from tests.web.conftest import StreamingCamera
from tests.web.test_browser import poll, tiles

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

GREYED = """(name) => getComputedStyle(
  document.querySelector(`.tile[data-camera="${name}"] img`)).filter.includes('grayscale')"""
STATE = "() => Object.fromEntries(Array.from(document.querySelectorAll('.tile')).map(t => [t.dataset.camera, t.dataset.state]))"


BOXES_SHOWN = """() => Object.fromEntries(Array.from(document.querySelectorAll('.tile')).map(t => {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.classList.add('objects');
  t.querySelector('.view').appendChild(svg);
  return [t.dataset.camera, getComputedStyle(svg).display !== 'none'];
}))"""


def _state(page: Any) -> dict[str, str]:
    result: dict[str, str] = page.evaluate(STATE)
    return result


def test_a_camera_that_stops_goes_stale_then_offline_and_drops_its_motion_badge(
    page: Any, cameras: Callable[..., StreamingCamera]
) -> None:
    with camhub.Hub(bind="tcp://127.0.0.1:0", offline_after=6.0) as hub:
        motion = hub.add_processor("motion", cameras=["porch"])
        cams = [StreamingCamera(hub.endpoint, n, fps=15) for n in ("porch", "yard")]
        try:
            with WebServer(hub, "127.0.0.1:0", processors=[motion]) as web:
                page.goto(web.url)
                poll(
                    page,
                    lambda ts: len(ts) == 2 and all(t["badge"] == "live" for t in ts),
                    what="two live tiles",
                )
                poll(page, lambda ts: "motion" in tiles_by(ts)["porch"]["proc"], what="motion")
                assert not page.evaluate(GREYED, "porch")
                cams[0].stop()
                # Stale first: the hub still counts it online (offline_after 6 s), but the
                # picture is over 3 s old, so the tile must not say live.
                current = poll(
                    page,
                    lambda ts: tiles_by(ts)["porch"]["badge"].startswith("stale"),
                    timeout=8,
                    what="a stale tile",
                )
                porch = tiles_by(current)["porch"]
                assert re.match(r"stale · \d+(\.\d)? s$", porch["badge"]), porch["badge"]
                assert porch["proc"] == "" and "fps" not in porch["stats"]
                assert "last frame " in porch["stats"]
                assert page.evaluate(GREYED, "porch")
                assert tiles_by(current)["yard"]["badge"] == "live"
                assert not page.evaluate(GREYED, "yard")
                # Then offline, with how long, still greyed, still no motion verdict.
                current = poll(
                    page,
                    lambda ts: tiles_by(ts)["porch"]["badge"].startswith("offline"),
                    timeout=10,
                    what="an offline tile",
                )
                porch = tiles_by(current)["porch"]
                assert re.match(r"offline · \d+(\.\d)? s$", porch["badge"]), porch["badge"]
                assert porch["offline"] and porch["proc"] == ""
                assert page.evaluate(GREYED, "porch")
                assert page.locator("#summary").text_content() == "2 cameras · 1 live"
                # Object boxes (drawn by objects.js into the tile) go with the camera too.
                shown = page.evaluate(BOXES_SHOWN)
                assert shown == {"porch": False, "yard": True}, shown
        finally:
            for cam in cams:
                cam.stop()


def tiles_by(ts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {t["camera"]: t for t in ts}


def test_hub_unreachable_greys_every_tile_and_the_camera_page(
    browser: Any, hub: camhub.Hub, cameras: Callable[..., StreamingCamera]
) -> None:
    cameras("north", fps=15)
    cameras("south", fps=15)
    context = browser.new_context()
    try:
        grid, cam_page = context.new_page(), context.new_page()
        web = WebServer(hub, "127.0.0.1:0").start()
        try:
            grid.goto(web.url)
            cam_page.goto(web.url + "camera?name=north")
            poll(grid, lambda ts: len(ts) == 2 and all(t["shown"] >= 2 for t in ts), what="live")
            wait_until(lambda: cam_page.locator("#badge").text_content() == "live")
        finally:
            web.stop()  # the cameras keep streaming; only the browser loses the hub
        current = poll(
            grid,
            lambda ts: all(t["badge"].startswith("hub unreachable") for t in ts),
            timeout=10,
            what="hub-unreachable tiles",
        )
        assert all(t["online"] == "false" and "fps" not in t["stats"] for t in current)
        assert set(_state(grid).values()) == {"hub-down"}
        assert grid.evaluate(GREYED, "north") and grid.evaluate(GREYED, "south")
        assert "hub unreachable" in (grid.locator("#summary").text_content() or "")
        # The age keeps counting while the hub is away.
        first = grid.locator(".tile[data-camera='north'] .badge").text_content()
        time.sleep(2.2)
        assert grid.locator(".tile[data-camera='north'] .badge").text_content() != first
        wait_until(
            lambda: (cam_page.locator("#badge").text_content() or "").startswith("hub unreachable")
        )
        table = cam_page.locator("#stats").inner_text()
        assert re.search(r"picture is \d+(\.\d)? s old", table), table
        assert re.search(r"frames per second\s+0\.0", table), table
        colour = cam_page.evaluate(
            "() => getComputedStyle(document.getElementById('badge')).backgroundColor"
        )
        assert colour == "rgb(229, 83, 75)", "hub unreachable must be red, not green"
        assert cam_page.evaluate(
            "() => getComputedStyle(document.querySelector('.view-fig img')).filter"
        ).startswith("grayscale")
    finally:
        context.close()


def _overlaps(page: Any) -> list[str]:
    """Pairs of text boxes inside a tile that intersect, and text cut off by its tile."""
    return list(
        page.evaluate(
            """() => {
      const out = [];
      for (const tile of document.querySelectorAll('.tile')) {
        const boxes = ['.badge', '.proc', '.name', '.stats', '.zoom', '.reason']
          .map(sel => [sel, tile.querySelector(sel)])
          .filter(([, el]) => el && !el.hidden && el.textContent)
          .map(([sel, el]) => [sel, el.getBoundingClientRect()]);
        const t = tile.getBoundingClientRect();
        for (let i = 0; i < boxes.length; i++) {
          const [a, ra] = boxes[i];
          if (ra.left < t.left - 0.5 || ra.right > t.right + 0.5) out.push(tile.dataset.camera + a + ' sticks out');
          for (let j = i + 1; j < boxes.length; j++) {
            const [b, rb] = boxes[j];
            if (ra.left < rb.right && rb.left < ra.right && ra.top < rb.bottom && rb.top < ra.bottom)
              out.push(tile.dataset.camera + ': ' + a + ' overlaps ' + b);
          }
        }
      }
      return out;
    }"""
        )
    )


def test_four_column_grid_has_no_overlapping_text(
    browser: Any, cameras: Callable[..., StreamingCamera]
) -> None:
    with camhub.Hub(bind="tcp://127.0.0.1:0", offline_after=1.0) as hub:
        motion = hub.add_processor("motion")
        names = ["a-camera-with-a-rather-long-name", "b", "c", "d"]
        cams = [StreamingCamera(hub.endpoint, n, fps=15) for n in names]
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        try:
            page = context.new_page()
            with WebServer(hub, "127.0.0.1:0", processors=[motion]) as web:
                page.goto(web.url)
                poll(
                    page,
                    lambda ts: len(ts) == 4 and all("motion" in t["proc"] for t in ts),
                    what="four live tiles with motion labels",
                )
                tops = page.evaluate(
                    "() => Array.from(document.querySelectorAll('.tile')).map(t => t.getBoundingClientRect().top)"
                )
                assert len(set(tops)) == 1, "the four tiles should share one row"
                assert _overlaps(page) == []
                cams[0].stop()
                poll(page, lambda ts: ts[0]["offline"], timeout=8, what="an offline tile")
                assert _overlaps(page) == []
        finally:
            for cam in cams:
                cam.stop()
            context.close()


def test_tiles_zoom_and_reorder(
    page: Any, hub: camhub.Hub, web: WebServer, cameras: Callable[..., StreamingCamera]
) -> None:
    for name in ("alpha", "bravo"):
        cameras(name, fps=10)
    charlie = cameras("charlie", fps=10)
    page.set_viewport_size({"width": 1200, "height": 800})
    page.goto(web.url)
    poll(page, lambda ts: len(ts) == 3 and all(t["shown"] for t in ts), what="three tiles")
    page.locator(".tile[data-camera='bravo'] .zoom").click()
    box = page.locator(".tile[data-camera='bravo']").bounding_box()
    assert box["width"] >= 1190 and box["height"] >= 790, box
    page.keyboard.press("Escape")
    box = page.locator(".tile[data-camera='bravo']").bounding_box()
    assert box["width"] < 600
    # Problems first: a camera that stops moves to the front; the choice is remembered.
    charlie.stop()
    poll(page, lambda ts: tiles_by(ts)["charlie"]["offline"], what="charlie offline")
    assert [t["camera"] for t in tiles(page)] == ["alpha", "bravo", "charlie"]
    page.select_option("#order", "problems")
    assert [t["camera"] for t in tiles(page)] == ["charlie", "alpha", "bravo"]
    page.reload()
    poll(page, lambda ts: [t["camera"] for t in ts] == ["charlie", "alpha", "bravo"], what="kept")
    page.select_option("#order", "name")
    assert [t["camera"] for t in tiles(page)] == ["alpha", "bravo", "charlie"]


def test_camera_page_for_an_unknown_or_missing_camera(page: Any, web: WebServer) -> None:
    page.goto(web.url + "camera?name=nosuch")
    wait_until(lambda: page.locator("#missing").is_visible(), what="the missing-camera note")
    assert "nosuch" in (page.locator("#missing").text_content() or "")
    assert not page.locator(".details").is_visible()
    page.locator("#missing a").click()
    page.wait_for_url(web.url)
    page.goto(web.url + "camera")
    wait_until(lambda: page.locator("#missing").is_visible())
    assert "No camera chosen" in (page.locator("#missing").text_content() or "")
    assert not page.locator("#snapshot").is_visible()


def test_hub_health_is_on_the_page(
    page: Any, hub: camhub.Hub, web: WebServer, cameras: Callable[..., StreamingCamera]
) -> None:
    import zmq

    cameras("cam", fps=10)
    raw = zmq.Context.instance().socket(zmq.DEALER)
    raw.connect(hub.endpoint)
    raw.send_multipart([b"", b"not json"])
    assert raw.poll(5000)
    raw.close(linger=0)
    page.goto(web.url)
    wait_until(lambda: "1 malformed" in (page.locator("#health").text_content() or ""))
    text = page.locator("#health").text_content() or ""
    assert text.startswith("up ") and " s" in text
    assert "malformed from 127.0.0.1: 1" in (page.locator("#health").get_attribute("title") or "")


def test_times_are_24_hour_and_rates_in_kilobytes(
    browser: Any, hub: camhub.Hub, web: WebServer, cameras: Callable[..., StreamingCamera]
) -> None:
    cameras("cam", fps=10)
    # An en-US browser would write "10:10:51 PM" with toLocaleTimeString().
    context = browser.new_context(locale="en-US", timezone_id="America/New_York")
    try:
        page = context.new_page()
        page.goto(web.url + "camera?name=cam")
        wait_until(lambda: "kB/s" in (page.locator("#stats").inner_text() or ""))
        table = page.locator("#stats").inner_text()
        assert re.search(r"last frame\s+\d\d:\d\d:\d\d\b", table), table
        assert "AM" not in table and "PM" not in table
        assert "kb/s" not in table and "Mb/s" not in table
        page.goto(web.url)
        poll(page, lambda ts: len(ts) == 1 and "kB/s" in ts[0]["stats"], what="kB/s on the tile")
    finally:
        context.close()


def test_pictures_that_stop_arriving_are_not_called_live(
    page: Any, hub: camhub.Hub, web: WebServer, cameras: Callable[..., StreamingCamera]
) -> None:
    cameras("cam", fps=10)
    page.goto(web.url)
    poll(page, lambda ts: len(ts) == 1 and ts[0]["badge"] == "live", what="a live tile")
    # The stats keep coming (the hub is fine) but the picture stream is cut.
    page.route("**/api/stream*", lambda route: route.abort())
    page.evaluate("() => window.stop()")  # ends the open stream; reconnects now fail
    current = poll(
        page,
        lambda ts: ts[0]["badge"].startswith("no pictures"),
        timeout=15,
        what="the tile to say its pictures stopped",
    )
    assert page.evaluate(GREYED, "cam")
    assert "fps" not in current[0]["stats"]
    assert "0 live" in (page.locator("#summary").text_content() or "")
