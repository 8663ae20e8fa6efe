"""The interleaved-burst benchmarks (bench_compat, bench_fastpath) run end to end, tiny.

Timings are never asserted; what is checked is that every variant moved frames and
that each row carries a ratio against imagezmq measured in the same run.
"""

from __future__ import annotations

import re

import pytest

from tests.bench_run import run_bench


def _rows(args: list[str]) -> list[list[str]]:
    proc = run_bench(*args, timeout=150)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("|")]
    return [[c.strip() for c in ln.strip("|").split("|")] for ln in lines[2:]]


def _frames_per_s(cell: str) -> float:
    assert re.fullmatch(r"[\d,]+(\.\d+)?", cell), f"not a number: {cell!r}"
    return float(cell.replace(",", ""))


@pytest.mark.timeout(180)
def test_compat_pairs_both_move_frames() -> None:
    rows = _rows(
        ["bench.bench_compat", "--burst", "0.1", "--rounds", "2", "--payloads", "jpeg-q85,raw"]
    )
    assert [r[0].split(" ")[0] for r in rows] == ["jpeg-q85", "raw"]
    for row in rows:
        assert _frames_per_s(row[1]) > 0 and _frames_per_s(row[2]) > 0, row
        assert row[3].endswith("x"), row


@pytest.mark.timeout(180)
def test_fastpath_variants_all_move_frames() -> None:
    rows = _rows(
        [
            "bench.bench_fastpath",
            "--burst",
            "0.1",
            "--rounds",
            "2",
            "--windows",
            "auto,4",
            "--combos",
            "jpeg-q85x1",
        ]
    )
    assert [r[2] for r in rows] == [
        "imagezmq",
        "bare PUSH/PULL",
        "camhub Sender() (window sized to the frame)",
        "camhub Sender(window=4)",
    ]
    for row in rows:
        assert _frames_per_s(row[3]) > 0, row
        assert row[4].endswith("x") and row[5].endswith("%"), row
