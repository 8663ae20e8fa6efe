"""A one-item mailbox where the newest item wins: the building block that keeps every
stage of camhub from building up a backlog. Overwritten items are counted, not lost
silently."""

from __future__ import annotations

import threading
import time
from typing import Generic, TypeVar

from camhub.types import ReceiveTimeout, SlotClosed

T = TypeVar("T")


class LatestSlot(Generic[T]):
    """Thread-safe single slot. ``put`` never blocks; ``get`` returns each item at most once."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: T | None = None
        self._fresh = False
        self._closed = False
        self.put_count = 0
        self.dropped = 0
        """Items replaced before anyone took them."""

    def put(self, item: T) -> None:
        with self._cond:
            if self._fresh:
                self.dropped += 1
            self._item = item
            self._fresh = True
            self.put_count += 1
            self._cond.notify_all()

    def get(self, timeout: float | None = None) -> T:
        """The newest item not yet taken; waits up to ``timeout`` seconds.

        Raises ``TimeoutError`` when nothing new arrives in time and ``EOFError`` once
        the slot is closed and empty.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._fresh:
                if self._closed:
                    raise SlotClosed("slot closed")
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise ReceiveTimeout("no new item within timeout")
                self._cond.wait(remaining if remaining is None else min(remaining, 0.5))
            self._fresh = False
            assert self._item is not None
            return self._item

    def peek(self) -> T | None:
        """The newest item, taken or not (``None`` before the first ``put``)."""
        with self._cond:
            return self._item

    def close(self) -> None:
        """Wake every waiter; later ``get`` calls raise EOFError once the slot is empty."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
