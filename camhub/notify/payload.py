"""The JSON that sinks send for an :class:`~camhub.events.model.EventUpdate`.

The shape follows Frigate's ``frigate/events`` message (``type`` plus ``before`` and
``after``), and each event carries Frigate's field names (``start_time``, ``end_time``,
``current_zones``) beside camhub's own, so automations written for Frigate keep working.
``before`` is the same as ``after`` for a ``new`` event, as in Frigate.
"""

from __future__ import annotations

import json
import re

from camhub.events.model import Event, EventUpdate

_UNSAFE_TOPIC = re.compile(r"[/#+\x00]")


def event_json(event: Event) -> dict[str, object]:
    out = event.as_dict()
    out["start_time"] = event.start
    out["end_time"] = event.end
    out["current_zones"] = list(event.zones)
    out["false_positive"] = False
    return out


def update_json(update: EventUpdate) -> dict[str, object]:
    after = event_json(update.after)
    return {
        "type": update.type,
        "before": after if update.before is None else event_json(update.before),
        "after": after,
    }


def update_bytes(update: EventUpdate) -> bytes:
    return json.dumps(update_json(update), separators=(",", ":")).encode()


def topic_part(name: str) -> str:
    """A camera name or label as one MQTT topic level (no ``/``, ``#`` or ``+``)."""
    return _UNSAFE_TOPIC.sub("_", name) or "_"
