"""Ctrl-C and SIGTERM as a stop flag, shared by every long-running command."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

log = logging.getLogger("camhub")


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Turn SIGINT (Ctrl-C) and SIGTERM into ``stop.set()`` while inside the block.

    A second signal raises KeyboardInterrupt, for a user who does not want to wait for a
    clean stop. Only the main thread can take signals; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        log.info("stopping (%s received)...", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
