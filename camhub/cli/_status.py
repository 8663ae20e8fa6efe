"""A block of live status lines at the bottom of a terminal, redrawn in place, that log
messages scroll above instead of tearing through. Without a terminal (a pipe, a
journal) it prints the lines now and then instead."""

from __future__ import annotations

import logging
import shutil
import textwrap
import threading
import time
from collections.abc import Callable
from typing import TextIO

NON_TTY_INTERVAL = 30.0


class _LogStream:
    """Stands in for stderr in log handlers: clears the status block, writes the log
    text, then draws the block again below it."""

    def __init__(self, board: StatusBoard) -> None:
        self.board = board

    def write(self, text: str) -> int:
        with self.board.lock:
            self.board.clear()
            n = self.board.out.write(text)
            if text.endswith("\n"):
                self.board.draw()
            return n

    def flush(self) -> None:
        self.board.out.flush()


class StatusBoard:
    def __init__(self, lines: Callable[[], list[str]], out: TextIO) -> None:
        self.lines = lines
        self.out = out
        self.tty = out.isatty()
        self.lock = threading.RLock()
        self._shown = 0
        self._cache: list[str] = []
        self._last_plain = 0.0
        self._patched: list[tuple[logging.StreamHandler[TextIO], TextIO]] = []

    def __enter__(self) -> StatusBoard:
        if self.tty:
            for handler in logging.getLogger().handlers:
                if isinstance(handler, logging.StreamHandler) and handler.stream is self.out:
                    self._patched.append((handler, handler.stream))
                    handler.setStream(_LogStream(self))
        return self

    def __exit__(self, *exc: object) -> None:
        for handler, stream in self._patched:
            handler.setStream(stream)
        self.refresh(final=True)

    def refresh(self, final: bool = False) -> None:
        lines = self.lines()
        with self.lock:
            if self.tty:
                self.clear()
                self._cache = lines
                self.draw()
                if final:
                    self._shown = 0  # leave the last status on screen
            elif final or time.monotonic() - self._last_plain >= NON_TTY_INTERVAL:
                self._last_plain = time.monotonic()
                self.out.write("".join(f"status: {line}\n" for line in lines))
            self.out.flush()

    def clear(self) -> None:
        if self._shown:
            self.out.write(f"\x1b[{self._shown}F\x1b[J")
            self._shown = 0

    def draw(self) -> None:
        if not self._cache:
            return
        # Wrap long lines ourselves (the terminal's own wrapping would break the cursor
        # arithmetic) rather than cut them: the reason at the end is the part that matters.
        width = max(20, shutil.get_terminal_size().columns - 1)
        rows: list[str] = []
        for line in self._cache:
            rows.extend(
                textwrap.wrap(line, width, subsequent_indent="    ", break_on_hyphens=False) or [""]
            )
        self.out.write("".join(f"{row}\x1b[K\n" for row in rows))
        self._shown = len(rows)
