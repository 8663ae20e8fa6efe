"""The dashboard in a real browser (Debian's chromium through Playwright)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest

import camhub
from camhub.web import WebServer
from tests.conftest import wait_until
from tests.web.conftest import StreamingCamera

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

TILES = """() => Array.from(document.querySelectorAll('.tile')).map(t => ({
  camera: t.dataset.camera,
  name: t.querySelector('.name').textContent,
  online: t.dataset.online,
  offline: t.classList.contains('offline'),
  shown: Number(t.querySelector('img').dataset.shown || 0),
  src: t.querySelector('img').src,
  stats: t.querySelector('.stats').textContent,
  badge: t.querySelector('.badge').textContent,
  proc: t.querySelector('.proc').textContent,
}))"""


def tiles(page: Any) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = page.evaluate(TILES)
    return result


def poll(
    page: Any, check: Callable[[list[dict[str, Any]]], bool], timeout: float = 10, what: str = ""
) -> list[dict[str, Any]]:
    """Poll from Python; the page's CSP (rightly) forbids the eval wait_for_function uses."""
    deadline = time.monotonic() + timeout
    while True:
        current = tiles(page)
        if check(current):
            return current
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; tiles: {current}")
        time.sleep(0.1)


def test_grid_has_one_live_tile_per_camera_and_pictures_move(
    page: Any, hub: camhub.Hub, web: WebServer, cameras: Callable[..., StreamingCamera]
) -> None:
    for name in ("north", "south", "east"):
        cameras(name, fps=15)
    page.goto(web.url)
    current = poll(
        page,
        lambda ts: len(ts) == 3 and all(t["shown"] >= 2 for t in ts),
        what="three tiles with pictures",
    )
    assert [t["name"] for t in current] == ["east", "north", "south"]
    assert all(t["online"] == "true" and t["badge"] == "live" for t in current)
    assert all("96\u00d772" in t["stats"] and "fps" in t["stats"] for t in current)
    first = {t["camera"]: (t["shown"], t["src"]) for t in current}
    shot1 = page.locator(".tile[data-camera='north'] img").screenshot()
    time.sleep(1.0)
    later = {t["camera"]: (t["shown"], t["src"]) for t in tiles(page)}
    shot2 = page.locator(".tile[data-camera='north'] img").screenshot()
    for name in first:
        assert later[name][0] > first[name][0] + 3, f"{name} tile stopped updating"
        assert later[name][1] != first[name][1]
    assert shot1 != shot2, "the pixels on screen must change as the camera's frames do"
    assert page.locator("#summary").text_content() == "3 cameras · 3 live"


def test_camera_that_stops_is_shown_offline(
    page: Any, hub: camhub.Hub, web: WebServer, cameras: Callable[..., StreamingCamera]
) -> None:
    stays = cameras("stays", fps=15)
    goes = cameras("goes", fps=15)
    page.goto(web.url)
    poll(page, lambda ts: len(ts) == 2 and all(not t["offline"] for t in ts), what="two online")
    goes.stop()
    # offline_after (1 s) plus at most one JSON poll (1 s): the timeout is only a ceiling.
    current = poll(
        page, lambda ts: any(t["offline"] for t in ts), timeout=20, what="an offline tile"
    )
    by_name = {t["camera"]: t for t in current}
    assert by_name["goes"]["offline"] and by_name["goes"]["badge"].startswith("offline · ")
    assert not by_name["stays"]["offline"]
    assert stays.sent  # the other camera kept streaming


def test_names_are_escaped(
    page: Any, hub: camhub.Hub, web: WebServer, cameras: Callable[..., StreamingCamera]
) -> None:
    evil = '<img src=x onerror="window.__pwned=1">&amp;/../x'
    cameras(evil, fps=10)
    page.goto(web.url)
    current = poll(page, lambda ts: len(ts) == 1 and ts[0]["shown"] >= 1, what="the tile")
    assert current[0]["name"] == evil
    assert page.evaluate("() => document.querySelectorAll('img').length") == 1
    assert page.evaluate("() => window.__pwned") is None
    href = page.locator(".tile a.view").get_attribute("href")
    assert href == "/camera?name=" + quote(evil, safe="")
    page.locator(".tile a.view").click()
    page.wait_for_url("**/camera?name=*")
    wait_until(
        lambda: (
            page.evaluate(
                "() => Number(document.querySelector('.view-fig img')?.dataset.shown || 0)"
            )
            >= 1
        )
    )
    assert page.locator("#title").text_content() == evil
    assert page.evaluate("() => window.__pwned") is None
    snapshot = page.locator("#snapshot").get_attribute("href")
    assert snapshot == "/api/cameras/" + quote(evil, safe="") + "/snapshot.jpg"


def test_camera_page_shows_the_processor_view(
    page: Any, hub: camhub.Hub, cameras: Callable[..., StreamingCamera]
) -> None:
    runner = hub.add_processor("motion", cameras=["porch"])
    cameras("porch", fps=15)
    with WebServer(hub, "127.0.0.1:0", processors=[runner]) as web:
        page.goto(web.url + "camera?name=porch")
        views = "() => Array.from(document.querySelectorAll('.view-fig')).map(f => [f.dataset.view, Number(f.querySelector('img').dataset.shown || 0)])"
        wait_until(
            lambda: len(page.evaluate(views)) == 2 and all(n >= 2 for _, n in page.evaluate(views)),
            what="live and motion views",
        )
        assert [v for v, _ in page.evaluate(views)] == ["live", "motion"]
        wait_until(lambda: "motion" in (page.locator("#procdata h2").first.text_content() or ""))
        page.goto(web.url)
        page.locator("#processed").check()
        poll(page, lambda ts: len(ts) == 1 and "motion" in ts[0]["proc"], what="motion label")
        wait_until(
            lambda: page.evaluate("() => document.querySelector('.tile').dataset.view") == "motion",
            what="the grid to switch to the motion view",
        )


def test_exposed_dashboard_works_in_the_browser_with_the_token(
    page: Any, browser: Any, hub: camhub.Hub, cameras: Callable[..., StreamingCamera]
) -> None:
    cameras("private", fps=10)
    with WebServer(hub, "0.0.0.0:0", expose=True, token="tok-123") as web:
        base = f"http://127.0.0.1:{web.port}/"
        assert page.request.get(base).status == 401
        refused = page.context.new_page()
        with pytest.raises(Exception, match="ERR_INVALID_AUTH_CREDENTIALS"):
            refused.goto(base)  # headless chromium cannot prompt, so the 401 is an error
        refused.close()
        page.goto(base + "?token=tok-123")  # sets the cookie the page's own requests use
        poll(page, lambda ts: len(ts) == 1 and ts[0]["shown"] >= 2, what="pictures with cookie")
        context = browser.new_context(http_credentials={"username": "me", "password": "tok-123"})
        try:
            basic = context.new_page()
            basic.goto(base)
            poll(basic, lambda ts: len(ts) == 1 and ts[0]["shown"] >= 2, what="pictures with Basic")
        finally:
            context.close()
