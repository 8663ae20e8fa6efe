"""Events: what the hub noticed, as records with a lifecycle (new -> update -> end)."""

from camhub.events.model import Event, EventType, EventUpdate, new_event_id

__all__ = ["Event", "EventType", "EventUpdate", "new_event_id"]
