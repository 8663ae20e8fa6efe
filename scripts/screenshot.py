#!/usr/bin/env python3
"""Take real-browser screenshots of the dashboard for the docs.

Starts a hub with test-pattern cameras (motion detection on one), opens the dashboard in
Debian's chromium through Playwright and writes docs/dashboard.png (desktop grid),
docs/dashboard-phone.png and docs/dashboard-camera.png (one camera with its motion view).

    python scripts/screenshot.py [--out docs]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from camhub.agent import Agent, CameraJob
from camhub.service import HubService, ProcessorChoice, ServiceOptions
from camhub.web.browser import CHROMIUM, CHROMIUM_ARGS


def wait_for(page: Page, selector: str, count: int, timeout: float = 15.0) -> None:
    """Poll from Python: the page's CSP forbids the eval that wait_for_function needs."""
    deadline = time.monotonic() + timeout
    while page.locator(selector).count() < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"fewer than {count} of {selector!r} after {timeout} s")
        time.sleep(0.1)


NAMES = ["front-door", "garage", "backyard", "workshop", "driveway", "lab"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--chromium", default=CHROMIUM)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    service = HubService(
        ServiceOptions(
            bind=["tcp://127.0.0.1:0"],
            web="127.0.0.1:0",
            status_every=0,
            offline_after=2.0,
            processors=[ProcessorChoice("motion", [NAMES[0]])],
        )
    ).start()
    assert service.hub is not None and service.url is not None
    agent = Agent(service.hub.endpoint, [CameraJob(n, "testsrc:640x480@10") for n in NAMES]).start()
    try:
        time.sleep(3.0)
        agent.workers[-1].stop()  # one camera goes offline, to show the badge
        time.sleep(3.0)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.goto(service.url)
            wait_for(page, ".tile img[data-shown]", 5)
            time.sleep(1.5)
            page.screenshot(path=str(args.out / "dashboard.png"))
            phone = browser.new_page(
                viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
            )
            phone.goto(service.url)
            wait_for(phone, ".tile img[data-shown]", 1)
            time.sleep(1.5)
            phone.screenshot(path=str(args.out / "dashboard-phone.png"))
            page.goto(service.url.rstrip("/") + "/camera?name=" + NAMES[0])
            wait_for(page, ".view-fig img[data-shown]", 2)
            time.sleep(1.5)
            page.screenshot(path=str(args.out / "dashboard-camera.png"))
            browser.close()
    finally:
        agent.stop()
        service.stop()
    print(f"wrote {args.out}/dashboard.png, dashboard-phone.png, dashboard-camera.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
