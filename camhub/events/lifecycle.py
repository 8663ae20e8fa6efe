"""The one event lifecycle: ``new`` -> ``update`` -> ``end``, kept by key.

Every producer (the offline watch, the motion tracker, the object tracker) keeps one
:class:`Lifecycle` and says, per key (a camera, a label, a track), that an event starts,
that it changed in a way worth telling, or that it is over. The lifecycle publishes each of
those once, as an :class:`~camhub.events.model.EventUpdate` whose ``before`` is the state it
last published and whose ``after`` is a copy taken now. Between publications the producer
changes the live event in place, so a look that changes nothing costs no copy and no JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from camhub.events.model import Event, EventUpdate
from camhub.types import ArgumentError

Publish = Callable[[EventUpdate], object]
K = TypeVar("K", bound=Hashable)


class Lifecycle(Generic[K]):
    """The events going on for one producer, by key. Not thread-safe: one producer
    thread owns it (as each processor worker, the detection loop and the offline watch do)."""

    def __init__(self, publish: Publish) -> None:
        self.publish = publish
        self._live: dict[K, Event] = {}
        self._sent: dict[K, Event] = {}
        """The copy last published per key: the next update's ``before``."""
        self.started = 0

    def __contains__(self, key: object) -> bool:
        return key in self._live

    def __len__(self) -> int:
        return len(self._live)

    def get(self, key: K) -> Event | None:
        """The live event of ``key`` (change it in place, then call :meth:`update`)."""
        return self._live.get(key)

    def keys(self) -> list[K]:
        return list(self._live)

    def items(self) -> list[tuple[K, Event]]:
        return list(self._live.items())

    def start(self, key: K, event: Event) -> Event:
        """``event`` begins for ``key``: publish ``new``; returns the live event."""
        if key in self._live:
            raise ArgumentError(f"an event for {key!r} is already going on; end it first")
        if event.end is not None:
            raise ArgumentError(f"a new event cannot have ended already (end={event.end})")
        self._live[key] = event
        sent = self._sent[key] = event.copy()
        self.started += 1
        self.publish(EventUpdate("new", sent))
        return event

    def update(self, key: K) -> None:
        """The live event of ``key`` changed: publish ``update`` (before: as last sent)."""
        event = self._live[key]
        after = event.copy()
        before, self._sent[key] = self._sent[key], after
        self.publish(EventUpdate("update", after, before))

    def end(self, key: K, at: float) -> Event | None:
        """End the event of ``key`` at ``at`` (never before it started) and publish
        ``end``; returns the ended event, or ``None`` when nothing was going on."""
        event = self._live.pop(key, None)
        if event is None:
            return None
        before = self._sent.pop(key)
        event.end = max(event.start, at)
        after = event.copy()
        self.publish(EventUpdate("end", after, before))
        return after

    def end_all(self, at: float) -> list[Event]:
        """End every event going on (the producer stops, or its camera went away)."""
        return [e for key in self.keys() if (e := self.end(key, at)) is not None]
