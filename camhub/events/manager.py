"""The event manager: the bus's EventUpdates in; the events going on now, their counts
and the stored history out. The dashboard's API and live stream read from here.

It is the one place that knows every event going on in the hub, so it publishes the
active counts (:class:`~camhub.events.model.ActiveCount`, whenever one changes) and it ends
what is left: at stop (:meth:`end_active`) and, at start, what a hub that died left open
(:meth:`start`). Those ends are published on the bus like any producer's, so the sinks,
the recorder and the event stream all get their ``end``.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from camhub.bus import BusSubscription, EventBus, SubscriptionStats
from camhub.events.model import ActiveCount, Event, EventUpdate
from camhub.events.store import EventStore, EventStoreStats
from camhub.types import CameraName

log = logging.getLogger("camhub.events")

Listener = Callable[[EventUpdate], None]
Key = tuple[CameraName, str]

STOPPED = "hub stopped"
"""``data["ended_by"]`` of an event the hub ended because it stopped."""


@dataclass(frozen=True, slots=True)
class EventManagerStats:
    """Events seen and going on now, the manager's bus queue and its database."""

    seen: int
    active: int
    ended_at_start: int
    """Events a hub that died left open, ended when this one started."""
    bus: SubscriptionStats | None
    store: EventStoreStats | None

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


class EventManager:
    """Keeps active events and their counts, stores every change, and tells listeners
    (from its own bus thread, so a listener must be quick: the web hands updates to its
    event loop)."""

    def __init__(self, bus: EventBus, store: EventStore | None = None) -> None:
        self.bus = bus
        self.store = store
        self._lock = threading.Lock()
        self._active: dict[str, Event] = {}
        self._counts: dict[Key, int] = {}
        self._own: dict[int, EventUpdate] = {}
        """Updates this manager published itself and has already applied: its own bus
        subscription skips them when they come round."""
        self._listeners: list[Listener] = []
        self.seen = 0
        self.ended_at_start = 0
        self._sub: BusSubscription | None = None

    def start(self) -> EventManager:
        """Subscribe to the bus, then end (and publish the ``end`` of) the events the
        previous run left open: start it after the sinks, so that they hear of them."""
        if self._sub is None:
            self._sub = self.bus.subscribe(
                self.handle, name="event-manager", kinds=(EventUpdate,), maxsize=4096
            )
        if self.store is not None:
            self._end_interrupted(self.store.take_interrupted())
        return self

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        try:
            self._listeners.remove(listener)
        except ValueError:
            pass

    # -- the bus's updates -------------------------------------------------------------

    def handle(self, update: EventUpdate) -> None:
        with self._lock:
            if self._own.pop(id(update), None) is update:
                return  # published by this manager, applied already
        self._apply(update)

    def _apply(self, update: EventUpdate) -> None:
        event = update.after
        with self._lock:
            self.seen += 1
            old = self._active.pop(event.id, None)
            if update.type != "end" and event.end is None:
                self._active[event.id] = event
            changed = self._recount(old, event if event.id in self._active else None)
        for (camera, label), n in changed:
            self.bus.publish(ActiveCount(camera, label, n))
        if self.store is not None:
            self.store.save(event)
        for listener in list(self._listeners):
            try:
                listener(update)
            except Exception:
                log.exception("event listener failed")

    def _recount(self, old: Event | None, new: Event | None) -> list[tuple[Key, int]]:
        """Move one event between counts (under the lock); the counts that changed."""
        if old is not None and new is not None and old.key == new.key:
            return []
        changed = []
        if old is not None:
            n = self._counts[old.key] = self._counts.get(old.key, 1) - 1
            changed.append((old.key, n))
        if new is not None:
            n = self._counts[new.key] = self._counts.get(new.key, 0) + 1
            changed.append((new.key, n))
        return changed

    def _emit(self, update: EventUpdate) -> None:
        """Publish an update of the manager's own making and apply it at once."""
        with self._lock:
            if self._sub is not None:
                self._own[id(update)] = update
        self.bus.publish(update)
        self._apply(update)

    # -- ends the manager makes ----------------------------------------------------------

    def end_active(self, at: float | None = None, reason: str = STOPPED) -> list[Event]:
        """End every event still going on (the hub is stopping): each ``end`` is
        published (sinks, recorder, event stream) and stored, so no event outlives the hub
        that watched it. Stop the producers first."""
        at = time.time() if at is None else at
        if self._sub is not None:
            self._sub.flush(5.0)  # updates already published come first
        with self._lock:
            events = list(self._active.values())
        ended = []
        for event in events:
            after = event.copy()
            after.end = max(event.start, at)
            after.data["ended_by"] = reason
            self._emit(EventUpdate("end", after, event))
            ended.append(after)
        return ended

    def _end_interrupted(self, left: Iterable[tuple[Event, Event]]) -> None:
        keys: set[Key] = set()
        for before, after in left:
            self._emit(EventUpdate("end", after, before))
            keys.add(after.key)
            self.ended_at_start += 1
        with self._lock:
            truth = [(key, self._counts.get(key, 0)) for key in sorted(keys)]
        for (camera, label), n in truth:  # whatever a sink kept from the last run
            self.bus.publish(ActiveCount(camera, label, n))

    # -- reading -----------------------------------------------------------------------

    def active(self, camera: str | None = None) -> list[Event]:
        with self._lock:
            events = list(self._active.values())
        return [e for e in events if camera is None or e.camera == camera]

    def counts(self) -> dict[Key, int]:
        """Events going on by ``(camera, label)`` (only those seen since start)."""
        with self._lock:
            return dict(self._counts)

    def get(self, event_id: str) -> Event | None:
        with self._lock:
            event = self._active.get(event_id)
        if event is not None:
            return event
        return None if self.store is None else self.store.get(event_id)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until updates published so far are handled and stored (tests, shutdown)."""
        ok = self._sub is None or self._sub.flush(timeout)
        return ok and (self.store is None or self.store.flush(timeout))

    def stats(self) -> EventManagerStats:
        return EventManagerStats(
            seen=self.seen,
            active=len(self._active),
            ended_at_start=self.ended_at_start,
            bus=None if self._sub is None else self._sub.stats(),
            store=None if self.store is None else self.store.stats(),
        )

    def stop(self) -> None:
        if self._sub is not None:
            self._sub.close()
            self._sub = None
        with self._lock:
            self._own.clear()
