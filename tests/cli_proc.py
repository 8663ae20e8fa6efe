"""Run ``camhub`` commands as real processes and read their output line by line."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any


class Proc:
    """A camhub command with its output collected line by line (stdout + stderr)."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.p = subprocess.Popen(
            [sys.executable, "-m", "camhub", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.lines: list[str] = []
        self._q: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        assert self.p.stdout is not None
        for line in self.p.stdout:
            self._q.put(line)

    def expect(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        # 60 s is a ceiling against a hang: a process start-up on a loaded 2-core machine
        # has taken over 20 s.
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines:
                if m := re.search(pattern, line):
                    self.lines.remove(line)
                    return m
            try:
                self.lines.append(self._q.get(timeout=max(0.01, deadline - time.monotonic())))
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r}; got {self.lines}") from None

    def wait(self, timeout: float = 15) -> int:
        code = self.p.wait(timeout)
        time.sleep(0.1)
        while not self._q.empty():
            self.lines.append(self._q.get())
        return code

    def text(self) -> str:
        """Every line not yet matched by :meth:`expect`, as one string (call it after
        :meth:`kill` for the whole output)."""
        while not self._q.empty():
            self.lines.append(self._q.get())
        return "".join(self.lines)

    def diagnose(self) -> str:
        """Why a live process does not exit: its signal masks and every thread's stack
        (camhub commands print them on SIGUSR1)."""
        pid = self.p.pid
        try:
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
        except OSError:
            return "the process is gone"
        masks = " ".join(x.replace("\t", "") for x in status if x.startswith(("Sig", "ShdPnd")))
        self.p.send_signal(signal.SIGUSR1)
        time.sleep(1.0)
        stacks = self.text()
        return f"{masks}\n{stacks[-6000:]}"

    def kill(self) -> None:
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(5)
        self._reader.join(5)  # EOF once the process is gone
        assert self.p.stdout is not None
        self.p.stdout.close()


def run_cli(capsys: Any, *args: str) -> tuple[int, str]:
    """Run ``camhub ARGS`` in this process (for commands that fail before starting
    anything: no Python start-up per case); returns the exit code and the output
    (stdout, then stderr)."""
    done = cli(capsys, *args)
    return done.returncode, done.stdout + done.stderr


def cli(capsys: Any, *args: str) -> subprocess.CompletedProcess[str]:
    """:func:`run_cli` with stdout and stderr apart, shaped like ``subprocess.run``'s
    result."""
    from camhub.cli import main

    capsys.readouterr()
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse: --help, or a value it refuses itself
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return subprocess.CompletedProcess(["camhub", *args], code, out.out, out.err)
