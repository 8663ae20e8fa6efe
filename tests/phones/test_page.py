"""The phone page in a real browser (Debian's chromium with its fake camera) streaming
into a real hub over HTTPS."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.phones.conftest import (
    PhoneHub,
    page_state,
    start_phone_hub,
    stop_phone_hub,
    wait_page,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def pair_and_start(page: Any, ph: PhoneHub, name: str) -> None:
    page.goto(f"{ph.base}/cam?pair={ph.registry.pairing_code}")
    page.fill("#name", name)
    page.click("#start")


def test_page_streams_into_the_hub_at_10_fps_or_more(phone_hub: PhoneHub, phone_page: Any) -> None:
    pair_and_start(phone_page, phone_hub, "pocket")
    wait_page(phone_page, lambda s: s.get("state") == "live", what="connected")
    assert "?pair=" not in phone_page.url, "the pairing code must leave the address bar"
    time.sleep(3.0)
    first = phone_hub.hub.camera_stats("pocket")
    assert first is not None
    time.sleep(3.0)
    later = phone_hub.hub.camera_stats("pocket")
    assert later is not None
    fps = (later.frames - first.frames) / (later.last_seen - first.last_seen)
    assert fps >= 10, f"only {fps:.1f} fps arrived"
    assert (later.width, later.height) == (640, 480)
    frame = phone_hub.hub.latest("pocket")
    assert frame is not None and frame.image.shape == (480, 640, 3)
    state = page_state(phone_page)
    assert state["camera"] == "pocket" and float(state["fps"]) > 5
    assert state["age"] != "" and float(state["age"]) < 2000
    status = phone_page.locator("#status").text_content()
    assert "connected" in status and "fps sent" in status and "frame age" in status


def test_missing_token_is_refused_with_a_message(phone_hub: PhoneHub, phone_page: Any) -> None:
    phone_page.goto(f"{phone_hub.base}/cam")
    phone_page.click("#start")
    state = wait_page(phone_page, lambda s: s.get("state") == "refused", what="refusal")
    assert "no device token" in state["message"]
    assert phone_page.locator("#message").is_visible()


def test_wrong_pairing_code_is_refused_with_a_message(phone_hub: PhoneHub, phone_page: Any) -> None:
    phone_page.goto(f"{phone_hub.base}/cam?pair=not-the-code")
    phone_page.fill("#name", "intruder")
    phone_page.click("#start")
    state = wait_page(phone_page, lambda s: "message" in s, what="pairing refusal")
    assert "pairing code is not" in state["message"]
    assert phone_hub.registry.devices() == []


def test_wrong_token_is_refused_with_a_message(phone_hub: PhoneHub, phone_page: Any) -> None:
    phone_page.goto(f"{phone_hub.base}/cam")
    phone_page.evaluate(
        "() => { localStorage.setItem('camhub.token', 'forged'); "
        "localStorage.setItem('camhub.name', 'x'); }"
    )
    phone_page.reload()
    phone_page.click("#start")
    state = wait_page(phone_page, lambda s: s.get("state") == "refused", what="refusal")
    assert "unknown device token" in state["message"]


def test_revoked_phone_stops_with_a_message(
    phone_hub: PhoneHub, phone_page: Any, tmp_path: Path
) -> None:
    pair_and_start(phone_page, phone_hub, "lent")
    wait_page(phone_page, lambda s: int(s.get("acked", "0")) > 5, what="streaming")
    phone_hub.registry.revoke("lent")
    state = wait_page(phone_page, lambda s: s.get("state") == "refused", what="cut off")
    assert "revoked" in state["message"]
    assert phone_page.locator("#message").is_visible()


def test_dashboard_shows_the_phone_and_a_processor_sees_its_frames(
    phone_hub: PhoneHub, phone_page: Any
) -> None:
    seen: list[tuple[str, int | None]] = []
    phone_hub.hub.add_processor(lambda frame: seen.append((frame.name, frame.width)))
    pair_and_start(phone_page, phone_hub, "porch-phone")
    wait_page(phone_page, lambda s: int(s.get("acked", "0")) > 5, what="streaming")
    dash = phone_page.context.new_page()
    dash.set_viewport_size({"width": 1000, "height": 700})
    dash.goto(phone_hub.base + "/")
    tile = dash.locator(".tile[data-camera='porch-phone']")
    tile.wait_for(timeout=15_000)
    # A phone sending WebCodecs video plays as video in the tile (WebRTC or MSE), a JPEG
    # phone as pictures in its <img>: either must move.
    shown = """(t) => {
      const v = t.querySelector('video'), img = t.querySelector('img');
      return Math.max(Number(img.dataset.shown || 0),
                      v && !v.hidden ? v.getVideoPlaybackQuality().totalVideoFrames : 0);
    }"""
    deadline = time.monotonic() + 20
    while tile.evaluate(shown) < 3:
        assert time.monotonic() < deadline, "the dashboard tile shows no pictures"
        time.sleep(0.2)
    assert "640\u00d7480" in (tile.locator(".stats").text_content() or "")
    assert ("porch-phone", 640) in seen


def test_page_resumes_by_itself_after_a_hub_restart(
    phone_hub: PhoneHub, phone_page: Any, tmp_path: Path
) -> None:
    pair_and_start(phone_page, phone_hub, "survivor")
    wait_page(phone_page, lambda s: int(s.get("acked", "0")) > 5, what="streaming")
    port, folder = phone_hub.web.port, phone_hub.folder
    stop_phone_hub(phone_hub)
    wait_page(phone_page, lambda s: s.get("state") == "retry", what="noticing the restart")
    acked_before = int(page_state(phone_page)["acked"])
    time.sleep(1.0)
    again = start_phone_hub(folder, port=port)  # same folder: same certificate and devices
    try:
        wait_page(
            phone_page,
            lambda s: s.get("state") == "live" and int(s["acked"]) > acked_before + 10,
            timeout=30,
            what="streaming again",
        )
        stats = again.hub.camera_stats("survivor")
        assert stats is not None and stats.frames > 10
        assert int(page_state(phone_page)["reconnects"]) >= 1
    finally:
        stop_phone_hub(again)


def test_slow_hub_lowers_the_frame_rate_and_frame_age_stays_flat(
    phone_hub: PhoneHub, phone_page: Any
) -> None:
    store = phone_hub.phones.put
    ages: list[float] = []

    def slow_put(frame: Any, peer: str) -> None:
        time.sleep(0.25)  # a hub busy for a quarter second per frame
        store(frame, peer)
        if frame.age is not None:
            ages.append(frame.age)

    pair_and_start(phone_page, phone_hub, "patient")
    wait_page(phone_page, lambda s: float(s.get("fps", "0")) >= 10, what="full rate first")
    phone_hub.phones.put = slow_put
    time.sleep(2.0)
    ages.clear()
    first = phone_hub.hub.camera_stats("patient")
    time.sleep(6.0)
    later = phone_hub.hub.camera_stats("patient")
    assert first is not None and later is not None
    fps = (later.frames - first.frames) / (later.last_seen - first.last_seen)
    assert fps <= 4.5, f"{fps:.1f} fps arrived from a hub that takes 0.25 s a frame"
    assert float(page_state(phone_page)["fps"]) <= 4.5
    third = len(ages) // 3
    assert third >= 4, ages
    early = sum(ages[:third]) / third
    late = sum(ages[-third:]) / third
    # A queue would add 0.25 s of age per frame; flow control keeps it where it was.
    assert late < early + 0.2, (early, late, ages)


def test_dashboard_phones_page_shows_the_join_link_qr_and_devices(
    phone_hub: PhoneHub, phone_page: Any
) -> None:
    phone_hub.device("hallway")
    page = phone_page
    page.set_viewport_size({"width": 1000, "height": 900})
    page.goto(phone_hub.base + "/")
    page.locator("#phones-link").wait_for(state="visible", timeout=10_000)
    page.click("#phones-link")
    page.locator("#devices tr[data-device='hallway']").wait_for(timeout=10_000)
    assert page.locator("#join").text_content() == phone_hub.phones.join_url
    deadline = time.monotonic() + 10
    while page.evaluate("() => document.getElementById('qr').naturalWidth") == 0:
        assert time.monotonic() < deadline, "QR code image did not load"
        time.sleep(0.1)
    page.click("#devices tr[data-device='hallway'] button")
    deadline = time.monotonic() + 10
    while "revoked" not in (
        page.locator("#devices tr[data-device='hallway']").text_content() or ""
    ):
        assert time.monotonic() < deadline, "revoke did not show"
        time.sleep(0.1)
    assert phone_hub.registry.devices()[0].revoked
