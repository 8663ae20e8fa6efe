"""What sinks need beside the event JSON: MQTT topic levels.

The JSON itself, ``{"type", "before", "after"}`` in Frigate's shape with camhub's and
Frigate's field names, is built once per change by the events package
(:attr:`camhub.events.model.EventUpdate.json`) and shared by every sink and the event
stream.
"""

from __future__ import annotations

import re

_UNSAFE_TOPIC = re.compile(r"[/#+\x00]")


def topic_part(name: str) -> str:
    """A camera name or label as one MQTT topic level (no ``/``, ``#`` or ``+``)."""
    return _UNSAFE_TOPIC.sub("_", name) or "_"
