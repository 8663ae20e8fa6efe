"""`camhub hub` with a bad --data: one line naming the path, exit status 2, no traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.cli_proc import run_cli

pytestmark = pytest.mark.timeout(60)


def test_damaged_database_stops_the_hub_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # In this process: the hub stops at its data directory, before it serves anything.
    (tmp_path / "events.db").write_bytes(b"\0garbage" * 200)
    code, out = run_cli(
        capsys, "hub", "--bind", "tcp://127.0.0.1:0", "--no-web", "--data", str(tmp_path)
    )
    assert code == 2
    assert f"database '{tmp_path / 'events.db'}' is damaged" in out
    assert "Traceback" not in out


def test_data_dir_that_cannot_be_made_stops_the_hub(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code, out = run_cli(
        capsys, "hub", "--bind", "tcp://127.0.0.1:0", "--no-web",
        "--data", str(blocker / "data"), "--record", "events",
    )  # fmt: skip
    assert code == 2
    assert f"cannot create data directory '{blocker / 'data'}'" in out
    assert "Traceback" not in out


def test_bad_record_mode_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_cli(capsys, "hub", "--record", "always")
    assert code == 2 and "invalid choice: 'always'" in out


def test_no_data_conflicts_with_record(taken_bind: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_cli(capsys, "hub", "--bind", taken_bind, "--no-data", "--record", "events")
    assert code == 2 and "--no-data keeps nothing" in out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--keep-days", "-1"], "--keep-days must be 0..36500, got -1"),
        (["--max-gb", "-2"], "--max-gb must be 0..1000000, got -2"),
        (["--record-labels", " , "], "--record-labels: List should have at least 1 item"),
    ],
)
def test_bad_retention_options_name_the_option(
    args: list[str], words: str, taken_bind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_cli(capsys, "hub", "--bind", taken_bind, "--no-web", *args)
    assert code == 2 and words in out, out


@pytest.mark.parametrize("no_data", [False, True])
def test_default_data_dir_and_no_data(tmp_path: Path, no_data: bool) -> None:
    import signal

    from tests.cli_proc import Proc

    args = ["hub", "--bind", "tcp://127.0.0.1:0", "--no-web", "--status-every", "0"]
    proc = Proc(*args, *(["--no-data"] if no_data else []), env={"XDG_DATA_HOME": str(tmp_path)})
    why = ""
    try:
        proc.expect(r"camhub hub: receiving on", timeout=30)
        # SIGUSR1 prints every thread's stack and the hub goes on.
        proc.p.send_signal(signal.SIGUSR1)
        proc.expect(r"Current thread 0x|Thread 0x", timeout=10)
        proc.p.send_signal(signal.SIGTERM)
        try:
            code: int | None = proc.wait(20)
        except subprocess.TimeoutExpired:
            code = None
            why = proc.diagnose()
    finally:
        proc.kill()
    assert (tmp_path / "camhub" / "events.db").exists() is not no_data
    if code is None:
        # Seen about once in three full CI runs before signals moved off the main
        # thread's handler (camhub/signals.py); if it still happens, the report shows the
        # hub's signal masks and stacks. See README, known limits.
        pytest.xfail(f"known bug: the hub did not exit within 20 s of SIGTERM:\n{why}")
    assert code == 0
