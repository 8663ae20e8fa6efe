"""The event manager: the bus's EventUpdates in, the events going on now and the stored
history out. The dashboard's API and live stream read from here."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from camhub.bus import BusSubscription, EventBus, SubscriptionStats
from camhub.events.model import Event, EventUpdate
from camhub.events.store import EventStore, EventStoreStats

log = logging.getLogger("camhub.events")

Listener = Callable[[EventUpdate], None]


@dataclass(frozen=True, slots=True)
class EventManagerStats:
    """Events seen and going on now, the manager's bus queue and its database."""

    seen: int
    active: int
    bus: SubscriptionStats | None
    store: EventStoreStats | None

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


class EventManager:
    """Keeps active events, stores every change, and tells listeners (from its own bus
    thread, so a listener must be quick: the web hands updates to its event loop)."""

    def __init__(self, bus: EventBus, store: EventStore | None = None) -> None:
        self.bus = bus
        self.store = store
        self._lock = threading.Lock()
        self._active: dict[str, Event] = {}
        self._listeners: list[Listener] = []
        self.seen = 0
        self._sub: BusSubscription | None = None

    def start(self) -> EventManager:
        if self._sub is None:
            self._sub = self.bus.subscribe(
                self.handle, name="event-manager", kinds=(EventUpdate,), maxsize=4096
            )
        return self

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        try:
            self._listeners.remove(listener)
        except ValueError:
            pass

    def handle(self, update: EventUpdate) -> None:
        event = update.after
        self.seen += 1
        with self._lock:
            if update.type == "end" or event.end is not None:
                self._active.pop(event.id, None)
            else:
                self._active[event.id] = event
        if self.store is not None:
            self.store.save(event)
        for listener in list(self._listeners):
            try:
                listener(update)
            except Exception:
                log.exception("event listener failed")

    def active(self, camera: str | None = None) -> list[Event]:
        with self._lock:
            events = list(self._active.values())
        return [e for e in events if camera is None or e.camera == camera]

    def get(self, event_id: str) -> Event | None:
        with self._lock:
            event = self._active.get(event_id)
        if event is not None:
            return event
        return None if self.store is None else self.store.get(event_id)

    def end_active(self, at: float | None = None) -> list[Event]:
        """End every event still going on (the hub is stopping) and store the ends, so
        no event outlives the hub that watched it."""
        at = time.time() if at is None else at
        with self._lock:
            events, self._active = list(self._active.values()), {}
        for event in events:
            event.end = max(event.start, at)
            event.data["ended_by"] = "hub stopped"
            if self.store is not None:
                self.store.save(event)
        return events

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until updates published so far are handled and stored (tests, shutdown)."""
        ok = self._sub is None or self._sub.flush(timeout)
        return ok and (self.store is None or self.store.flush(timeout))

    def stats(self) -> EventManagerStats:
        return EventManagerStats(
            seen=self.seen,
            active=len(self._active),
            bus=None if self._sub is None else self._sub.stats(),
            store=None if self.store is None else self.store.stats(),
        )

    def stop(self) -> None:
        if self._sub is not None:
            self._sub.close()
            self._sub = None
