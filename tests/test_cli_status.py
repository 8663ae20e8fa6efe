"""The live status block of `camhub send`: redrawn in place on a terminal, with log
lines scrolling above it; plain periodic lines elsewhere."""

from __future__ import annotations

import io
import logging

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
