"""`camhub demo` shows events: motion on the first camera, recorded around the event; a
person detected on it with the built-in model; and ``--web-expose`` prints a link with
a token that opens the dashboard."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from camhub.events import EventStore
from tests.cli_proc import Proc

pytestmark = pytest.mark.timeout(150)


def test_demo_records_motion_events(tmp_path: Path) -> None:
    proc = Proc(
        "demo", "--cameras", "2", "--size", "160x120", "--fps", "10", "--web", "127.0.0.1:0",
        "--duration", "10", "--status-every", "0", "--data", str(tmp_path), "--no-detect",
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


def test_demo_detects_the_walker_as_a_person(tmp_path: Path) -> None:
    proc = Proc(
        "demo", "--cameras", "2", "--size", "320x240", "--fps", "10", "--web", "127.0.0.1:0",
        "--duration", "40", "--status-every", "0", "--data", str(tmp_path), "--no-outage",
    )  # fmt: skip
    try:
        # loading the model takes a while on a busy machine
        url = proc.expect(r"events and recordings at (http://\S+)events", timeout=90).group(1)
        assert "person detection on front-door" in "".join(proc.lines)
        deadline = time.monotonic() + 40  # the walker crosses for 6 s of every 16 s
        while True:
            events = httpx.get(url + "api/events?label=person", timeout=5).json()["events"]
            if events:
                break
            assert time.monotonic() < deadline, "no person event"
            time.sleep(0.5)
        person = events[0]
        assert person["camera"] == "front-door" and person["top_score"] >= 0.3
        cam = httpx.get(url + "api/cameras/front-door", timeout=5).json()
        assert cam["objects"] is not None  # the dashboard draws its boxes
        other = httpx.get(url + "api/cameras/garage", timeout=5).json()
        assert not (other["objects"]["stats"] or {}).get("inferences")  # nobody to find there
        facets = httpx.get(url + "api/events/facets", timeout=5).json()
        assert "person" in facets["labels"]
    finally:
        proc.kill()


def test_demo_web_expose_prints_a_link_with_a_token(tmp_path: Path) -> None:
    proc = Proc(
        "demo", "--cameras", "1", "--size", "160x120", "--fps", "5", "--web", "0.0.0.0:0",
        "--web-expose", "--duration", "8", "--status-every", "0", "--no-detect",
        "--data", str(tmp_path),
        env={"CAMHUB_WEB_TOKEN": "demo-token-123"},
    )  # fmt: skip
    try:
        link = proc.expect(r"from another machine: (http://\S+)").group(1)
        assert link.endswith("/?token=demo-token-123")
        port = link.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1]
        local = f"http://127.0.0.1:{port}/"
        assert httpx.get(local + "api/cameras", timeout=5).status_code == 401
        opened = httpx.get(local + "?token=demo-token-123", timeout=5)
        assert opened.status_code == 200 and "camhub" in opened.text
        assert proc.wait(30) == 0
    finally:
        proc.kill()
