"""The event bus: what the hub notices travels from the receive thread to sinks without
ever blocking it.

``publish`` appends to each subscription's bounded queue and returns at once. Every
subscription has its own thread, so a slow sink (a dead MQTT broker, a slow webhook, a
database write) delays only itself; when its queue is full the oldest message is dropped
and counted.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from camhub.types import ArgumentError

log = logging.getLogger("camhub.bus")

Handler = Callable[[Any], None]


@dataclass(frozen=True, slots=True)
class SubscriptionStats:
    """One subscriber's queue: what it handled, lost and still holds."""

    name: str
    delivered: int
    dropped: int
    """Messages lost because the queue was full (the oldest go first)."""
    errors: int
    """Messages the handler raised on."""
    pending: int

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


class BusSubscription:
    """One subscriber: a bounded queue drained by its own thread."""

    def __init__(
        self,
        bus: EventBus,
        handler: Handler,
        *,
        name: str,
        kinds: tuple[type, ...],
        maxsize: int,
    ) -> None:
        if maxsize < 1:
            raise ArgumentError(f"maxsize must be at least 1, got {maxsize}")
        self._bus = bus
        self.handler = handler
        self.name = name
        self.kinds = kinds
        self._queue: deque[object] = deque()
        self._maxsize = maxsize
        self._cond = threading.Condition()
        self._closed = False
        self._busy = False
        self.delivered = 0
        self.dropped = 0
        """Messages dropped because this subscriber fell ``maxsize`` behind."""
        self.errors = 0
        self._thread = threading.Thread(
            target=self._run, name=f"camhub-bus-{name}"[:60], daemon=True
        )
        self._thread.start()

    def offer(self, message: object) -> None:
        if not isinstance(message, self.kinds):
            return
        with self._cond:
            if self._closed:
                return
            if len(self._queue) >= self._maxsize:
                self._queue.popleft()
                self.dropped += 1
            self._queue.append(message)
            self._cond.notify()

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._queue)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._busy = False
                    self._cond.notify_all()
                    self._cond.wait()
                if not self._queue:  # closed and drained
                    self._busy = False
                    self._cond.notify_all()
                    return
                message = self._queue.popleft()
                self._busy = True
            try:
                self.handler(message)
                self.delivered += 1
            except Exception:  # a sink's bug must not stop the others or the hub
                self.errors += 1
                if self.errors == 1 or self.errors % 100 == 0:
                    log.exception(
                        "event handler %s failed (%d errors so far)", self.name, self.errors
                    )

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued so far has been handled (tests, shutdown)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)

    def close(self, timeout: float = 2.0) -> None:
        """Deliver what is queued (for up to ``timeout`` s), then stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout)
        self._bus._remove(self)

    def stats(self) -> SubscriptionStats:
        return SubscriptionStats(self.name, self.delivered, self.dropped, self.errors, self.pending)


class EventBus:
    """Publish any message; subscribers pick the types they want."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: tuple[BusSubscription, ...] = ()
        self.published = 0

    def subscribe(
        self,
        handler: Handler,
        *,
        name: str = "subscriber",
        kinds: tuple[type, ...] = (object,),
        maxsize: int = 1024,
    ) -> BusSubscription:
        sub = BusSubscription(self, handler, name=name, kinds=kinds, maxsize=maxsize)
        with self._lock:
            self._subs = (*self._subs, sub)
        return sub

    def publish(self, message: object) -> None:
        """Queue ``message`` for every interested subscriber; never blocks."""
        self.published += 1
        for sub in self._subs:  # a tuple swapped whole: no lock on the hot path
            sub.offer(message)

    def subscriptions(self) -> list[BusSubscription]:
        return list(self._subs)

    def _remove(self, sub: BusSubscription) -> None:
        with self._lock:
            self._subs = tuple(s for s in self._subs if s is not sub)

    def close(self) -> None:
        for sub in self._subs:
            sub.close()
