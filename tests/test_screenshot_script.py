"""scripts/screenshot.py makes the README's screenshots from the demo's cameras."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from camhub.web.browser import CHROMIUM

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[1]


def test_screenshot_script_writes_the_four_pictures(tmp_path: Path) -> None:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not installed")
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "screenshot.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=220,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("dashboard.png", "dashboard-phone.png", "dashboard-camera.png", "events.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000, name
