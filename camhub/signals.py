"""Ctrl-C and SIGTERM as a stop flag, shared by every long-running command."""

from __future__ import annotations

import faulthandler
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

log = logging.getLogger("camhub")

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Turn SIGINT (Ctrl-C) and SIGTERM into ``stop.set()`` while inside the block.

    A second signal raises KeyboardInterrupt, for a user who does not want to wait for a
    clean stop. SIGUSR1 prints every thread's stack to stderr (for reporting a hang).
    Only the main thread can take signals; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    # A Python signal handler runs between two bytecodes of the main thread, which may
    # hold the very lock ``stop.set()`` or a log call needs (Event.wait holds the event's
    # lock on its way in and out): a deadlock. So the handler only counts; the C-level
    # handler also writes the signal's number to a pipe, and a thread of its own reads it
    # and sets the flag.
    received = [0]

    def handler(signum: int, _frame: FrameType | None) -> None:
        received[0] += 1
        if received[0] > 1:
            raise KeyboardInterrupt

    # A blocked signal is inherited across exec: a parent (a supervisor, a test runner's
    # thread) that blocked SIGTERM would leave it pending here and the command unstoppable.
    blocked = signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    for sig in sorted(blocked & set(_STOP_SIGNALS)):
        log.warning("%s was blocked by the parent process; unblocked", signal.Signals(sig).name)
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    watcher = threading.Thread(
        target=_watch, args=(read_fd, stop), name="camhub-signals", daemon=True
    )
    watcher.start()
    previous = {sig: signal.signal(sig, handler) for sig in _STOP_SIGNALS}
    old_wakeup = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    dumps = _dump_stacks_on(signal.SIGUSR1)
    try:
        yield
    finally:
        if dumps:
            faulthandler.unregister(signal.SIGUSR1)
        signal.set_wakeup_fd(old_wakeup)
        for sig, old in previous.items():
            signal.signal(sig, old)
        os.close(write_fd)  # the watcher reads end-of-file and returns
        watcher.join(2.0)
        if not watcher.is_alive():  # else a forked child holds the write end: leave it
            os.close(read_fd)


def _watch(read_fd: int, stop: threading.Event) -> None:
    while data := os.read(read_fd, 64):
        for signum in data:
            if signum in _STOP_SIGNALS and not stop.is_set():
                log.info("stopping (%s received)...", signal.Signals(signum).name)
                stop.set()


def _dump_stacks_on(sig: signal.Signals) -> bool:
    """Print every thread's stack on ``sig`` (from C, so it works even in a deadlock)."""
    try:
        faulthandler.register(sig, file=sys.stderr, all_threads=True, chain=False)
    except (RuntimeError, ValueError, OSError, AttributeError):
        return False  # stderr has no file descriptor (embedded, redirected to an object)
    return True
