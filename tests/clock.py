"""A manual clock for paced threads (see :mod:`camhub.clock`): time moves only when the
test says so, so a test counts frames per second of clock instead of timing the machine."""

from __future__ import annotations

import threading
import time

EPSILON = 1e-9
"""Times this close count as equal: steps of 0.05 s add up with rounding errors."""


class ManualClock:
    """Virtual monotonic time. A thread that waits on it sleeps until the test has moved
    the time past its wake-up; :meth:`advance` returns once every sleeper it woke is
    asleep again (or gone), so the test then sees all the work that time allowed."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._cond = threading.Condition()
        self._sleeping: dict[int, float] = {}
        """Each sleeping thread -> the time it wakes at."""
        self.waits: list[float] = []
        """Every sleep asked for, in seconds, in order."""

    def monotonic(self) -> float:
        with self._cond:
            return self._now

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        me = threading.get_ident()
        with self._cond:
            self.waits.append(seconds)
            wake = self._now + seconds
            self._sleeping[me] = wake
            self._cond.notify_all()
            try:
                while self._now < wake - EPSILON and not stop.is_set():
                    # stop.set() does not notify this condition: look at it now and then.
                    self._cond.wait(0.02)
            finally:
                del self._sleeping[me]
                self._cond.notify_all()
        return stop.is_set()

    def asleep(self, count: int = 1, timeout: float = 10.0) -> None:
        """Block until ``count`` threads sleep toward a time still to come."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while sum(wake > self._now + EPSILON for wake in self._sleeping.values()) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"timed out after {timeout:g} s waiting for {count} thread(s) to "
                        f"sleep on the manual clock (sleeping: {self._sleeping}, now {self._now})"
                    )
                self._cond.wait(min(left, 0.05))

    def advance(self, seconds: float, sleepers: int = 1, step: float | None = None) -> None:
        """Move time on by ``seconds`` (in steps of ``step``, or at once), each time
        waiting until ``sleepers`` threads sleep again."""
        step = seconds if step is None else step
        left = seconds
        while left > 1e-12:
            dt = min(step, left)
            with self._cond:
                self._now += dt
                self._cond.notify_all()
            left -= dt
            self.asleep(sleepers)
