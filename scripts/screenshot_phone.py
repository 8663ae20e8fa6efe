#!/usr/bin/env python3
"""Take the phone-sized screenshot of the camera page for the docs (docs/phone.png).

Starts a hub with the phone endpoints over HTTPS (a throw-away certificate and phones
folder), opens /cam in Debian's chromium with its fake camera at a phone's viewport,
pairs as "kitchen", taps Start and waits until frames flow.

    python scripts/screenshot_phone.py [--out docs]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

import camhub
from camhub.phones import DeviceRegistry
from camhub.security.certs import ensure_certificate
from camhub.web import WebServer
from camhub.web.browser import CHROMIUM, CHROMIUM_ARGS
from camhub.web.phone import Phones

FAKE_CAMERA = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--ignore-certificate-errors",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--chromium", default=CHROMIUM)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        hub = camhub.Hub(bind="tcp://127.0.0.1:0").start()
        registry = DeviceRegistry(folder)
        cert, key = ensure_certificate(folder)
        phones = Phones(registry, hub.store.put, limits=hub.limits, bus=hub.bus)
        web = WebServer(hub, "127.0.0.1:0", tls_cert=cert, tls_key=key, phones=phones).start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=args.chromium, args=[*CHROMIUM_ARGS, *FAKE_CAMERA]
                )
                context = browser.new_context(
                    viewport={"width": 390, "height": 844},
                    device_scale_factor=2,
                    is_mobile=True,
                    has_touch=True,
                    ignore_https_errors=True,
                )
                page = context.new_page()
                page.goto(f"https://127.0.0.1:{web.port}/cam?pair={registry.pairing_code}")
                page.fill("#name", "kitchen")
                page.click("#start")
                deadline = time.monotonic() + 20
                while "frame age" not in (page.locator("#status").text_content() or ""):
                    if time.monotonic() > deadline:
                        raise TimeoutError("the page did not start streaming")
                    time.sleep(0.2)
                time.sleep(2.0)  # let the fps figure settle
                page.screenshot(path=str(args.out / "phone.png"))
                browser.close()
        finally:
            web.stop()
            hub.stop()
    print(f"wrote {args.out / 'phone.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
