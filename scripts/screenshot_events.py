#!/usr/bin/env python3
"""Take a real-browser screenshot of the events page for the docs (docs/events.png).

Starts a hub that records around events, one camera with a box crossing it now and then
(motion events) and one that drops out and comes back (offline events), waits for a few
events, opens /events in Debian's chromium through Playwright and plays the newest clip.

    python scripts/screenshot_events.py [--out docs] [--seconds 40]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from playwright.sync_api import sync_playwright

import camhub
from camhub.config import FleetConfig
from camhub.service import HubService
from camhub.web.browser import CHROMIUM, CHROMIUM_ARGS


def scene(moving: bool, i: int) -> bytes:
    img = np.full((360, 480, 3), 60, np.uint8)
    img[:, :, 1] = np.linspace(40, 150, 480, dtype=np.uint8)[None, :]
    img[250:, :] = (70, 90, 80)
    if moving:
        x = 10 + (i * 14) % 400
        img[150:260, x : x + 60] = (40, 200, 250)
    return camhub.encode_jpeg(img)


def yard(endpoint: str, stop: threading.Event) -> None:
    with camhub.Sender(endpoint, timeout=2.0) as sender:
        i = 0
        while not stop.is_set():
            phase = i % 120  # 8 s: 5 s still, 3 s with a box crossing
            sender.send_jpeg("backyard", scene(phase >= 75, phase))
            i += 1
            time.sleep(1 / 15)


def gate(endpoint: str, stop: threading.Event) -> None:
    with camhub.Sender(endpoint, timeout=2.0) as sender:
        while not stop.is_set():
            for _ in range(90):  # 6 s on, then 5 s silent
                if stop.is_set():
                    return
                sender.send_jpeg("gate", scene(False, 0))
                time.sleep(1 / 15)
            stop.wait(5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--seconds", type=float, default=40.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="camhub-shot-") as data:
        hub = {
            "bind": "tcp://127.0.0.1:0",
            "web": "127.0.0.1:0",
            "status_every": 0,
            "offline_after": 2.0,
            "processors": ["motion:backyard"],
            "data": data,
            "record": {"mode": "events", "pre_roll": 2.0, "post_roll": 2.0},
        }
        service = HubService(FleetConfig.model_validate({"hub": hub})).start()
        stop = threading.Event()
        assert service.hub is not None and service.url is not None
        threads = [
            threading.Thread(target=fn, args=(service.hub.endpoint, stop), daemon=True)
            for fn in (yard, gate)
        ]
        for t in threads:
            t.start()
        try:
            time.sleep(args.seconds)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(service.url + "events")
                page.locator("#span").select_option("120")
                time.sleep(2)
                page.locator(".event .tag.motion").first.locator("xpath=..").click()
                deadline = time.monotonic() + 60
                while page.locator("#player").evaluate("v => v.readyState") < 2:
                    if time.monotonic() > deadline:
                        raise TimeoutError("the clip did not load")
                    time.sleep(0.2)
                time.sleep(1.5)
                page.screenshot(path=str(args.out / "events.png"))
                browser.close()
        finally:
            stop.set()
            for t in threads:
                t.join(5)
            service.stop()
    print(f"wrote {args.out / 'events.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
