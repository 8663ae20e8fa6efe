"""The time a paced loop reads and sleeps on, so that a test can drive it.

A source that releases frames at a set rate, or waits between reconnect attempts, reads
``clock.monotonic()`` and sleeps with ``clock.wait(stop, seconds)``, which returns early
(True) once ``stop`` is set. In production that is :data:`SYSTEM_CLOCK`; a test passes a
manual clock and checks how many frames came out for how much time it let pass, instead
of timing the machine it runs on.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds from an arbitrary start; never goes back."""
        ...

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        """Sleep ``seconds``, or less if ``stop`` is set meanwhile; True if it is set."""
        ...


class SystemClock:
    """The real thing: :func:`time.monotonic` and :meth:`threading.Event.wait`."""

    def monotonic(self) -> float:
        return time.monotonic()

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        return stop.wait(seconds)


SYSTEM_CLOCK: Clock = SystemClock()
