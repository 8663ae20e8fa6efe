"""Low disk stops recording loudly: on the dashboard's JSON (and the grid's health line),
in /metrics and in /api/recording, with a real hub service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from camhub.config import FleetConfig
from camhub.service import HubService
from tests.conftest import wait_until
from tests.web.conftest import StreamingCamera

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[HubService]:
    hub = {
        "bind": "tcp://127.0.0.1:0",
        "web": "127.0.0.1:0",
        "status_every": 0,
        "data": str(tmp_path),
        # more free space than any disk has: the guard trips at once
        "record": {"mode": "continuous", "min_free_gb": 1e6},
    }
    svc = HubService(FleetConfig.model_validate({"hub": hub})).start()
    yield svc
    svc.stop()


def test_low_disk_is_a_loud_health_error(full_disk: HubService, page: Any) -> None:
    url = full_disk.url
    assert url is not None and full_disk.hub is not None
    cam = StreamingCamera(full_disk.hub.endpoint, "porch", fps=10)
    try:

        def problems() -> list[str]:
            hub = httpx.get(url + "api/cameras", timeout=5).json()["hub"]
            return list(hub["problems"])

        wait_until(lambda: problems(), timeout=20, what="a health problem")
        assert "recording stopped" in problems()[0] and "GB free" in problems()[0]
        assert "camhub_recording_healthy 0" in httpx.get(url + "metrics", timeout=5).text
        status = httpx.get(url + "api/recording", timeout=5).json()
        assert status["health"] and status["recorder"]["cameras"][0]["frames"] == 0
        page.goto(url)  # type: ignore[attr-defined]
        wait_until(
            lambda: "recording stopped" in page.locator("#health").text_content(),  # type: ignore[attr-defined]
            timeout=20,
            what="the grid's health line",
        )
        assert "bad" in page.locator("#health").get_attribute("class")  # type: ignore[attr-defined]
    finally:
        cam.stop()
