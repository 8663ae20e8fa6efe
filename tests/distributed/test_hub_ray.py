"""``camhub hub --detect person --detect-on ray`` as a real process: it starts its own local
Ray (``auto``), a real sender streams a person walking, and the object events, /api and
/metrics come from detector actors. SIGTERM stops the hub and every Ray process it started."""

from __future__ import annotations

import secrets
import threading
import time

import httpx
import psutil
import pytest

from tests.cli_proc import Proc
from tests.detect.test_hub_detect import stream_scene

pytestmark = [pytest.mark.ray, pytest.mark.timeout(240)]


def descendants(pid: int) -> set[int]:
    try:
        return {p.pid for p in psutil.Process(pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


def test_hub_detects_on_a_local_ray_and_reports_the_actors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    proc = Proc(
        "hub",
        "--bind",
        "tcp://127.0.0.1:0",
        "--web",
        "127.0.0.1:0",
        "--status-every",
        "2",
        "--detect",
        "person",
        "--detect-on",
        "ray",
        "--ray-address",
        "auto",
        "--ray-cpus",
        "1",
        # A token of its own, so that Ray does not write one into ~/.ray.
        env={"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16)},
    )
    stop = threading.Event()
    sender: threading.Thread | None = None
    started: set[int] = set()
    try:
        url = proc.expect(r"dashboard at (http://\S+)", timeout=120).group(1)
        # The dashboard is up before the hub waits for its cluster; this comes after.
        endpoint = proc.expect(r"receiving on (tcp://\S+)", timeout=120).group(1)
        started = descendants(proc.p.pid)
        assert len(started) >= 3  # the bridge, Ray's GCS and raylet, the actor's worker
        sender = threading.Thread(target=stream_scene, args=(endpoint, "porch", stop), daemon=True)
        sender.start()
        deadline = time.monotonic() + 90
        api: dict[str, object] = {}
        while time.monotonic() < deadline:
            api = httpx.get(url + "api/objects", timeout=5).json()
            cams = api["detection"]["cameras"]  # type: ignore[index]
            actors = api["cluster"]["actors"]  # type: ignore[index]
            # The actors' figures come with the bridge's health report, once a second.
            if cams and cams[0]["counts"]["events_started"] >= 1 and actors[0]["inferences"]:
                break
            time.sleep(0.5)
        cam = api["detection"]["cameras"][0]  # type: ignore[index]
        assert cam["camera"] == "porch" and cam["counts"]["events_started"] >= 1, api
        cluster = api["cluster"]
        assert cluster["state"] == "running" and cluster["address"] == "auto"  # type: ignore[index]
        actor = cluster["actors"][0]  # type: ignore[index]
        assert actor["backend"] == "ray" and actor["node_id"] and actor["inferences"] > 0
        assert actor["avg_ms"] > 0 and actor["failures"] == 0
        assert cluster["hub_encoded"] < cluster["sent"]  # type: ignore[index]
        text = httpx.get(url + "metrics", timeout=5).text
        assert "camhub_ray_cluster_up 1" in text
        assert 'camhub_ray_actor_inferences_total{actor="0",node="' in text
        assert 'camhub_detect_inferences_total{camera="porch"}' in text
        proc.expect(r"detector actors on a local Ray instance: 1", timeout=5)
        proc.p.terminate()
        assert proc.wait(60) == 0
    finally:
        stop.set()
        if sender is not None:
            sender.join(5)
        proc.kill()
    # Nothing the hub started outlives it: not the bridge, not the local Ray.
    assert all(
        not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        for pid in started
    ) or pytest.fail(f"left running: {[p for p in started if psutil.pid_exists(p)]}")


@pytest.mark.timeout(420)
def test_what_ray_prints_becomes_one_line_log_records(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ray prints the cluster's errors to its driver's terminal in colour, with twenty
    indented lines of dump after each: the hub logs one plain line per message instead."""
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    proc = Proc(
        "hub",
        "--bind",
        "tcp://127.0.0.1:0",
        "--no-web",
        "--detect",
        "person",
        "--detect-on",
        "ray",
        "--ray-address",
        "auto",
        env={"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16)},
    )
    try:
        proc.expect(r"receiving on", timeout=300)  # after the first actor is ready
        raylets = [
            p
            for p in psutil.Process(proc.p.pid).children(recursive=True)
            if "raylet" in " ".join(p.cmdline())
        ]
        assert raylets
        for p in raylets:
            p.kill()  # Ray then tells its driver, at length
        proc.expect(r"WARNING camhub\.distributed\.ray: \(raylet\) Raylet is terminated", 60)
        proc.p.terminate()
        assert proc.wait(60) == 0
    finally:
        proc.kill()
    assert not [line for line in proc.lines if "\x1b[" in line or line[:1].isspace()], proc.lines
    assert not [line for line in proc.lines if "[state-dump]" in line], proc.lines
