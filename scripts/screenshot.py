#!/usr/bin/env python3
"""Take real-browser screenshots of the dashboard for the docs, from the demo's cameras.

Runs what ``camhub demo`` runs (a hub, motion and person detection on the front door,
recording around events, the demo's synthetic scenes through ``camhub send``'s agent),
with the workshop camera switched off early so that the grid shows an offline tile, opens
the dashboard in Debian's chromium through Playwright and writes docs/dashboard.png
(desktop grid, while someone walks past the front door, with a box around them),
docs/dashboard-phone.png, docs/dashboard-camera.png (the front door with its motion view)
and docs/events.png (the review page playing a person event from its recording).

    .venv/bin/python scripts/screenshot.py [--out docs]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

from camhub.cli.demo import camera_names, detect_section, start_cameras
from camhub.config import FleetConfig
from camhub.service import HubService
from camhub.web.browser import CHROMIUM, CHROMIUM_ARGS

OUTAGE = (60.0, 57.0)
"""The workshop camera: on for its first 3 s, then dark (offline) for the rest."""


def wait_for(page: Page, selector: str, count: int, timeout: float = 15.0) -> None:
    """Poll from Python: the page's CSP forbids the eval that wait_for_function needs."""
    deadline = time.monotonic() + timeout
    while page.locator(selector).count() < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"fewer than {count} of {selector!r} after {timeout} s")
        time.sleep(0.1)


def review(page: Page, url: str, path: Path) -> None:
    """The review page playing the newest person event that has ended."""
    deadline = time.monotonic() + 40
    while True:
        events = httpx.get(url + "api/events?label=person", timeout=5).json()["events"]
        if any(e["end"] is not None for e in events):
            break
        if time.monotonic() > deadline:
            raise TimeoutError("no person event ended in 40 s")
        time.sleep(0.5)
    page.goto(url + "events")
    wait_for(page, ".event .tag.object", 1)
    page.locator(".event").filter(has=page.locator(".tag.object")).first.locator(".thumb").click()
    deadline = time.monotonic() + 20
    while page.locator("#player").evaluate("v => v.readyState") < 2:
        if time.monotonic() > deadline:
            raise TimeoutError("the event's recording did not play")
        time.sleep(0.1)
    time.sleep(3.2)  # past the pre-roll: the person is in the picture
    page.screenshot(path=str(path))


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--chromium", default=CHROMIUM)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    names = camera_names(4)
    hub = {
        "bind": "tcp://127.0.0.1:0",
        "web": "127.0.0.1:0",
        "status_every": 0,
        "offline_after": 2.0,
        "processors": [f"motion:{names[0]}"],
        "data": tempfile.mkdtemp(prefix="camhub-shots-"),
        "record": {"mode": "events", "max_gb": 1.0, "min_free_gb": 0},
    }
    config = {"hub": hub, "detect": detect_section(names, (640, 480))}
    service = HubService(FleetConfig.model_validate(config)).start()
    assert service.hub is not None and service.url is not None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.goto(service.url)
        agent = start_cameras(service.hub.endpoint, names, (640, 480), 10.0, OUTAGE)
        try:
            # The walker crosses the porch during the first 6 s of every 16 s; the
            # workshop goes dark at 3 s and is offline 2 s later.
            wait_for(page, ".tile[data-state='offline']", 1, timeout=20)
            for _ in range(4):  # a shot with the walker's box in it (it comes and goes)
                wait_for(page, ".tile svg.objects rect.box:not(.coasting)", 1, timeout=25)
                time.sleep(0.5)  # the video catches up with the box
                page.screenshot(path=str(args.out / "dashboard.png"))
                if page.locator(".tile svg.objects rect.box:not(.coasting)").count():
                    break
            phone = browser.new_page(
                viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
            )
            phone.goto(service.url)
            # video cameras play as video, JPEG ones as pictures
            wait_for(phone, ".tile[data-mode='video'] video, .tile img[data-shown]", 1)
            time.sleep(2.5)
            phone.screenshot(path=str(args.out / "dashboard-phone.png"))
            page.goto(service.url.rstrip("/") + "/camera?name=" + names[0])
            wait_for(page, ".view-fig img[data-shown]", 1)  # the motion view's pictures
            time.sleep(2.5)
            page.screenshot(path=str(args.out / "dashboard-camera.png"))
            review(page, service.url, args.out / "events.png")
        finally:
            browser.close()
            agent.stop()
            service.stop()
            shutil.rmtree(hub["data"], ignore_errors=True)
    print(f"wrote {args.out}/dashboard.png, dashboard-phone.png, dashboard-camera.png, events.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
