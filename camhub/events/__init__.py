"""Events: what the hub noticed, as records with a lifecycle (new -> update -> end).

Producers run their events through a :class:`Lifecycle` that publishes each change once
as an :class:`EventUpdate` on the bus (:class:`OfflineEvents` for cameras that stop
sending, processors through ``Result.events`` with an :class:`EventTracker`, the object
tracker per track); the :class:`EventManager` keeps the active ones, publishes their
:class:`ActiveCount`, saves every change in the :class:`EventStore` and ends what is left
at stop and after a crash. Every output sends the same JSON, built once per change
(:attr:`EventUpdate.json`).
"""

from camhub.events.lifecycle import Lifecycle
from camhub.events.manager import EventManager
from camhub.events.model import ActiveCount, Event, EventType, EventUpdate, new_event_id
from camhub.events.offline import OfflineEvents
from camhub.events.store import EventStore
from camhub.events.tracker import EventTracker

__all__ = [
    "ActiveCount",
    "Event",
    "EventManager",
    "EventStore",
    "EventTracker",
    "EventType",
    "EventUpdate",
    "Lifecycle",
    "OfflineEvents",
    "new_event_id",
]
