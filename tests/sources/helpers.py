"""Small helpers shared by the source tests."""

from __future__ import annotations

from camhub.sources import ThreadedSource
from camhub.types import Frame
from tests.clock import ManualClock


def read_n(source: ThreadedSource, n: int, timeout: float = 10.0) -> list[Frame]:
    """``n`` frames, each within ``timeout`` seconds."""
    return [source.read(timeout=timeout) for _ in range(n)]


def stop_cleanly(source: ThreadedSource) -> None:
    """``source.stop()``, then check that its reader thread ended: stop() joins it for
    ``read + 2`` s and leaves it behind if it is stuck, so an ended thread means the
    stop interrupted what it was waiting on (no wall-clock bound needed)."""
    thread = source._thread
    source.stop()
    assert thread is None or not thread.is_alive(), "the reader did not stop"


def read_on_clock(source: ThreadedSource, count: int, fps: float) -> list[Frame]:
    """``count`` frames of a paced source (a file) on a manual clock moved 1/``fps`` s
    after each read: the reader keeps up however slow the machine is. (On real time a
    reader that falls behind loses queued frames to the next keyframe, as it should.)"""
    clock = ManualClock()
    source.clock = clock
    frames = [source.read(timeout=10)]
    for _ in range(count - 1):
        # Due times are absolute: after n reads and n moves, only the next frame is due,
        # whether or not the source thread was asleep when the clock moved.
        clock.advance(1 / fps, sleepers=0)
        frames.append(source.read(timeout=10))
    return frames
