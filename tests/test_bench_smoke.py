"""The transport benchmark runs end to end (in --quick mode) and prints every table.

Timings are never asserted (CI machines are too noisy); what is checked is that every
variant moved frames and that every section and target row is there.
"""

from __future__ import annotations

import re

import pytest

from bench.bench_transport import parse_args
from tests.bench_run import run_bench


@pytest.fixture(scope="module")
def quick_output() -> str:
    proc = run_bench("bench.bench_transport", "--quick", timeout=150)
    assert "did not stop" not in proc.stderr, proc.stderr[-3000:]
    return proc.stdout


def _rows(output: str, title: str) -> list[list[str]]:
    """The body rows of the markdown table under the heading that starts with ``title``."""
    section = output.split(f"### {title}", 1)[1].split("\n### ", 1)[0]
    lines = [ln for ln in section.splitlines() if ln.startswith("|")]
    return [[c.strip() for c in ln.strip("|").split("|")] for ln in lines[2:]]


def _number(cell: str) -> float:
    assert re.fullmatch(r"[\d,]+(\.\d+)?", cell), f"not a number: {cell!r}"
    return float(cell.replace(",", ""))


@pytest.mark.timeout(180)
def test_throughput_table_has_every_variant_and_each_moved_frames(quick_output: str) -> None:
    rows = _rows(quick_output, "Throughput")
    seen = {(r[0], r[1], r[2]) for r in rows}
    combos = [("raw", "1"), ("raw", "8"), ("jpeg-q95", "1"), ("jpeg-q95", "8"), ("jpeg-q85", "1")]
    for payload, senders in combos:
        for label in (
            "bare pyzmq PUSH/PULL",
            "bare pyzmq REQ/REP",
            "imagezmq ImageSender -> ImageHub",
            "camhub Sender(window=4) -> Hub",
            "camhub ImageSender -> ImageHub (compat)",
        ):
            assert (payload, senders, label) in seen, (payload, senders, label)
    for row in rows:
        assert _number(row[3]) > 0, row  # frames/s
        assert row[4].endswith("x"), row  # ratio against imagezmq from the same run


@pytest.mark.timeout(180)
def test_every_other_section_is_printed(quick_output: str) -> None:
    live = _rows(quick_output, "Live JPEG")
    assert [r[0].split(":")[0] for r in live] == ["imagezmq tutorial", "camhub"]
    assert all(_number(r[1]) > 0 for r in live)

    ages = _rows(quick_output, "Frame age")
    assert len(ages) == 2 and all(_number(r[2]) > 0 for r in ages)

    slow = _rows(quick_output, "Slow consumer")
    assert len(slow) == 4
    assert slow[0][3] == "not counted"  # imagezmq has no notion of skipped frames
    assert all(_number(r[3]) >= 0 for r in slow[1:])

    soak = _rows(quick_output, "Hub memory")
    assert len(soak) == 1 and re.fullmatch(r"[+-]\d+\.\d%", soak[0][7])


@pytest.mark.timeout(180)
def test_targets_table_judges_every_target(quick_output: str) -> None:
    targets = _rows(quick_output, "Targets")
    assert len(targets) == 13
    assert {r[2] for r in targets} <= {"yes", "NO"}
    assert quick_output.rstrip().splitlines()[-1].startswith("total time")


def test_bad_arguments_are_refused_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--windows", "0"], ["--windows", "four"], ["--runs", "0"]):
        with pytest.raises(SystemExit) as exc:
            parse_args(argv)
        assert exc.value.code == 2
        assert "error:" in capsys.readouterr().err


def test_quick_settings_are_short() -> None:
    settings, sections = parse_args(["--quick"])
    assert settings.runs == 1 and settings.windows == (4,)
    assert sections == {"throughput", "live", "age", "slow", "soak"}
