"""The scale benchmark runs end to end (tiny) and prints a row per hub.

Timings are never asserted; what is checked is that both hubs received frames from the
simulated cameras and that the CPU figures are numbers.
"""

from __future__ import annotations

import pytest

from bench.bench_scale import parse_args
from tests.bench_run import run_bench


@pytest.mark.timeout(240)
def test_quick_run_measures_both_hubs_for_each_kind_and_arrival_pattern() -> None:
    proc = run_bench("bench.bench_scale", "--quick", "--kind", "jpeg,h264", timeout=220)
    rows = [
        [c.strip() for c in ln.strip("|").split("|")]
        for ln in proc.stdout.split("### Hub CPU per frame", 1)[1].splitlines()
        if ln.startswith("|")
    ][2:]
    hubs = ["imagezmq recv_jpg loop", "camhub hub (dashboard on)"]
    assert [(r[0], r[1], r[3]) for r in rows] == [
        (kind, arrivals, hub)
        for kind in ("jpeg", "h264")
        for arrivals in ("independent", "burst")
        for hub in hubs
    ]
    for row in rows:
        assert row[2] == "4"
        assert float(row[4].replace(",", "")) > 0, row  # frames arrived
        float(row[6])  # CPU %
        float(row[7])  # CPU us per frame
        assert row[8].endswith("x")


def test_bad_camera_counts_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--cameras", "16,x"])
    assert "expected numbers like 16,64" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_args(["--procs", "0"])
    with pytest.raises(SystemExit):
        parse_args(["--arrivals", "random"])
    assert "expected one or more of independent,burst" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_args(["--kind", "png"])


def test_defaults_cover_16_64_and_256_cameras() -> None:
    s = parse_args([])
    assert s.cameras == (16, 64, 256)
    assert s.fps == 15.0
    assert s.arrivals == ("independent", "burst")
    assert s.kinds == ("jpeg",)
    assert parse_args(["--kind", "h264,jpeg"]).kinds == ("h264", "jpeg")
