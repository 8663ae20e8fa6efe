"""The recording benchmark runs end to end (--quick) and prints every table; timings are
never asserted, only that frames moved and events were timed."""

from __future__ import annotations

import pytest

from tests.bench_run import run_bench

pytestmark = pytest.mark.timeout(180)


def test_bench_record_quick() -> None:
    proc = run_bench("bench.bench_record", "--quick", timeout=170)
    out = proc.stdout
    for title in ("### Recording cost", "### Memory while", "### Event latency", "### Clip export"):
        assert title in out
    rows = [line for line in out.splitlines() if line.startswith("| recording 8 cameras")]
    assert rows and float(rows[0].split("|")[3]) > 100  # frames/s into the recording hub
    latency = out.split("### Event latency", 1)[1].splitlines()
    body = [line for line in latency if line.startswith("| ") and "events" not in line]
    assert body and int(body[0].split("|")[1]) >= 1  # at least one motion event timed
