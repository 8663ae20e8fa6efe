"""How camhub drives a real headless browser (Debian's chromium) against its own
dashboard: the screenshot script, the browser tests and the viewer benchmark share this.

The flags keep chromium from reaching out to Google's services, which a closed network
refuses, and let it run as root in a container."""

import os

CHROMIUM = os.environ.get("CAMHUB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
