"""Run a benchmark under bench/ as a program, the way its README command does, for the
tests that check it end to end (tiny runs; timings are never asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_bench(module: str, *args: str, timeout: float = 170) -> subprocess.CompletedProcess[str]:
    """``python -m MODULE ARGS`` from the repository root; fails the test, with the end of
    its stderr, unless it exits 0."""
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc
