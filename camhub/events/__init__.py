"""Events: what the hub noticed, as records with a lifecycle (new -> update -> end).

Producers publish :class:`EventUpdate` on the bus (:class:`OfflineEvents` for cameras
that stop sending, processors through ``Result.events`` with an :class:`EventTracker`);
the :class:`EventManager` keeps the active ones and saves every change in the
:class:`EventStore`.
"""

from camhub.events.manager import EventManager
from camhub.events.model import Event, EventType, EventUpdate, new_event_id
from camhub.events.offline import OfflineEvents
from camhub.events.store import EventStore
from camhub.events.tracker import EventTracker

__all__ = [
    "Event",
    "EventManager",
    "EventStore",
    "EventTracker",
    "EventType",
    "EventUpdate",
    "OfflineEvents",
    "new_event_id",
]
