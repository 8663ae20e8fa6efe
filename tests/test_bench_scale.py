"""The scale benchmark runs end to end (tiny) and prints a row per hub.

Timings are never asserted; what is checked is that both hubs received frames from the
simulated cameras and that the CPU figures are numbers.
"""

from __future__ import annotations

import pytest

from bench.bench_scale import parse_args
from tests.bench_run import run_bench


@pytest.mark.timeout(120)
def test_quick_run_measures_both_hubs() -> None:
    proc = run_bench("bench.bench_scale", "--quick", timeout=100)
    rows = [
        [c.strip() for c in ln.strip("|").split("|")]
        for ln in proc.stdout.split("### Hub CPU per frame", 1)[1].splitlines()
        if ln.startswith("|")
    ][2:]
    assert [r[1] for r in rows] == ["imagezmq recv_jpg loop", "camhub hub (dashboard on)"]
    for row in rows:
        assert row[0] == "4"
        assert float(row[2].replace(",", "")) > 0, row  # frames arrived
        float(row[4])  # CPU %
        float(row[5])  # CPU us per frame


def test_bad_camera_counts_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--cameras", "16,x"])
    assert "expected numbers like 16,64" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_args(["--procs", "0"])


def test_defaults_cover_16_64_and_256_cameras() -> None:
    s = parse_args([])
    assert s.cameras == (16, 64, 256)
    assert s.fps == 15.0
