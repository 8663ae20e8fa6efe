"""The live status block of `camhub send`: redrawn in place on a terminal, with log
lines scrolling above it; plain periodic lines elsewhere."""

from __future__ import annotations

import io
import logging

import pytest

from camhub.cli._status import StatusBoard


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_block_is_redrawn_in_place_and_logs_scroll_above() -> None:
    out = Terminal()
    lines = ["cam-1 streaming", "cam-2 offline"]
    handler = logging.StreamHandler(out)
    logger = logging.getLogger()
    logger.addHandler(handler)
    try:
        with StatusBoard(lambda: lines, out) as board:
            board.refresh()
            logging.getLogger("camhub.test").warning("camera cam-2 offline since 12:03:04")
            lines[1] = "cam-2 streaming"
            board.refresh()
    finally:
        logger.removeHandler(handler)
    text = out.getvalue()
    # Each redraw first moves up over the two old lines and clears them.
    assert text.count("\x1b[2F\x1b[J") >= 2
    log_at = text.index("camera cam-2 offline since 12:03:04")
    assert text.index("cam-2 offline\x1b[K") < log_at < text.rindex("cam-2 streaming\x1b[K")
    assert handler.stream is out  # restored


def test_plain_stream_gets_prefixed_lines() -> None:
    out = io.StringIO()
    with StatusBoard(lambda: ["cam streaming"], out) as board:
        board.refresh()
        board.refresh()  # too soon for another plain line
    assert out.getvalue() == "status: cam streaming\n" * 2  # first refresh + final
    assert "\x1b" not in out.getvalue()


def test_long_lines_wrap_instead_of_losing_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    reason = "(hub tcp://hub.example.com:5555 refused our key: it is not in the hub's list)"
    line = "porch            refused     0.0 fps      0 B/s          -  jpeg  sent 0  " + reason
    out = Terminal()
    with StatusBoard(lambda: [line, "yard streaming"], out) as board:
        board.refresh()
        board.refresh()
    drawn = out.getvalue().split("\x1b[J")[-1]
    rows = [r.removesuffix("\x1b[K") for r in drawn.split("\n") if r]
    assert all(len(r) <= 79 for r in rows), rows
    assert " ".join(r.strip() for r in rows).count(reason) == 1  # all of it, on screen
    assert len(rows) >= 3
    assert f"\x1b[{len(rows)}F" in out.getvalue()  # the redraw moves up over every row
