"""`camhub demo` shows events: motion on the first camera, recorded around the event."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from camhub.events import EventStore
from tests.cli_proc import Proc

pytestmark = pytest.mark.timeout(90)


def test_demo_records_motion_events(tmp_path: Path) -> None:
    proc = Proc(
        "demo", "--cameras", "2", "--size", "160x120", "--fps", "10", "--web", "127.0.0.1:0",
        "--duration", "10", "--status-every", "0", "--data", str(tmp_path),
    )  # fmt: skip
    try:
        url = proc.expect(r"events and recordings at (http://\S+)events").group(1)
        deadline = time.monotonic() + 30
        while True:
            events = httpx.get(url + "api/events?label=motion", timeout=5).json()["events"]
            segments = httpx.get(url + "api/recordings", timeout=5).json()["segments"]
            if events and segments:
                break
            assert time.monotonic() < deadline, (events, segments)
            time.sleep(0.3)
        assert events[0]["camera"] == "front-door" and events[0]["has_snapshot"]
        assert {s["camera"] for s in segments} == {"front-door"}  # only it has events
        assert proc.wait(30) == 0
    finally:
        proc.kill()
    store = EventStore.open(tmp_path)  # the demo's events outlive it, all ended
    try:
        kept = store.query(label="motion")
        assert kept and all(e.end is not None for e in kept)
    finally:
        store.close()
