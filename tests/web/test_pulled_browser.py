"""Cameras the hub pulls itself, in a real browser: one streaming from a real MJPEG camera
server, one configured camera that never connects, shown with the reason."""

from __future__ import annotations

from typing import Any

import pytest

import camhub
from camhub.agent import CameraJob
from camhub.puller import Puller
from camhub.web import WebServer
from tests.conftest import wait_until
from tests.servers.media import make_jpegs
from tests.servers.py_mjpeg import PyMJPEGServer
from tests.web.test_browser import poll

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]


def test_pulled_camera_streams_and_a_dead_one_shows_why(
    dead_port: int, page: Any, hub: camhub.Hub
) -> None:
    jpegs = make_jpegs(size="160x120", fps=15, seconds=1.0)
    dead = f"http://127.0.0.1:{dead_port}/video"
    with PyMJPEGServer(jpegs, fps=15) as server:
        puller = Puller(
            hub.store, [CameraJob("phone", server.url), CameraJob("porch", dead, timeout=1.0)]
        ).start()
        try:
            with WebServer(hub, "127.0.0.1:0") as web:
                page.goto(web.url)
                current = poll(
                    page,
                    lambda ts: (
                        len(ts) == 2
                        and ts[0]["shown"] >= 3
                        and ts[0]["badge"] == "live"
                        and "refused"
                        in page.locator(".tile[data-camera='porch'] .reason").inner_text()
                    ),
                    timeout=20,
                    what="a live pulled camera and a refused one",
                )
                assert [t["camera"] for t in current] == ["phone", "porch"]
                porch = current[1]
                assert porch["badge"] == "not connected" and porch["offline"]
                reason = page.locator(".tile[data-camera='porch'] .reason")
                assert reason.is_visible()
                assert "is the camera app running" in reason.inner_text()
                state = page.evaluate(
                    "() => document.querySelector('.tile[data-camera=\"porch\"]').dataset.state"
                )
                assert state == "waiting"
                # Its page says where the hub reads it from and why it is not streaming.
                page.goto(web.url + "camera?name=porch")
                wait_until(lambda: "refused" in (page.locator("#stats").inner_text() or ""))
                table = page.locator("#stats").inner_text()
                assert dead in table and "never" in table
        finally:
            puller.stop()
