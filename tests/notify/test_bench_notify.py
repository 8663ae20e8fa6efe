"""bench/bench_notify.py runs end to end (--quick) and every event reaches the subscriber.
Timings are printed, never asserted."""

from __future__ import annotations

import pytest

from tests.bench_run import run_bench


@pytest.mark.timeout(180)
def test_bench_notify_quick() -> None:
    proc = run_bench("bench.bench_notify", "--quick", timeout=170)
    out = proc.stdout
    latency = out.split("### Event latency", 1)[1].split("###", 1)[0]
    rows = [r for r in latency.splitlines() if r.startswith("| camhub") or r.startswith("| bare")]
    assert len(rows) == 6
    for row in rows:
        assert row.split("|")[2].strip() == "30", row  # every event arrived
    motion = [r for r in latency.splitlines() if r.startswith("| real motion")]
    assert len(motion) == 2
    assert motion[0].split("|")[2].strip() == "5", motion  # the hub's motion processor fired
    ingest = out.split("### Hub ingest", 1)[1]
    assert "MQTT sink, broker dead" in ingest and "MQTT sink, broker up" in ingest
    assert "1 event per 100 frames" in ingest
