"""The one event model for everything the hub notices: a camera going offline, motion,
an object a detector tracks; and the one JSON every output sends for it.

Producers (the hub's offline watch, the motion processor, the object tracker) run their
events through a :class:`~camhub.events.lifecycle.Lifecycle`, which publishes an
:class:`EventUpdate` on the :class:`~camhub.bus.EventBus` each time an event starts, changes
or ends; the event manager, the recorder and the notifiers subscribe. The manager publishes
an :class:`ActiveCount` whenever the number of events going on for a camera and label
changes. ``before``/``after`` follow Frigate's MQTT ``events`` payload, so home-automation
rules written for it carry over.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import quote

from camhub.types import CameraName

EventType = Literal["new", "update", "end"]


def new_event_id(at: float | None = None) -> str:
    """Sortable by time, unique without coordination: ``<unix time>-<random>``."""
    at = time.time() if at is None else at
    return f"{at:.6f}-{os.urandom(3).hex()}"


@dataclass(slots=True)
class Event:
    """One thing that happened on one camera, from ``start`` to ``end``."""

    camera: CameraName
    label: str
    """``offline``, ``motion``, or an object label such as ``person``."""
    start: float
    id: str = ""
    end: float | None = None
    """``None`` while the event goes on."""
    score: float | None = None
    top_score: float | None = None
    box: tuple[int, int, int, int] | None = None
    """``(x, y, w, h)`` in pixels of the camera's frame, where the event has a place."""
    zones: list[str] = field(default_factory=list)
    snapshot: bytes | None = field(default=None, repr=False)
    """The best JPEG of the event so far (never stored in JSON; served by the API)."""
    track_id: int | None = None
    data: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id:
            self.id = new_event_id(self.start)

    @property
    def active(self) -> bool:
        return self.end is None

    @property
    def key(self) -> tuple[CameraName, str]:
        """``(camera, label)``: what the active counts are kept by."""
        return (self.camera, self.label)

    def copy(self) -> Event:
        return dataclasses.replace(self, zones=list(self.zones), data=dict(self.data))

    def as_dict(self) -> dict[str, object]:
        """The event's JSON, the same in the HTTP API, the event stream, MQTT and webhooks:
        camhub's fields, Frigate's names for the same things (``start_time``, ``end_time``,
        ``current_zones``, ``false_positive``) and the API paths of its snapshot and clip.
        The snapshot's bytes are never in it."""
        base = "/api/events/" + quote(self.id, safe="")  # the routes of camhub.web.events_api
        return {
            "id": self.id,
            "camera": self.camera,
            "label": self.label,
            "start": self.start,
            "end": self.end,
            "score": self.score,
            "top_score": self.top_score,
            "box": None if self.box is None else list(self.box),
            "zones": list(self.zones),
            "has_snapshot": self.snapshot is not None,
            "track_id": self.track_id,
            "data": dict(self.data),
            "start_time": self.start,
            "end_time": self.end,
            "current_zones": list(self.zones),
            "false_positive": False,
            "links": {
                "self": base,
                "snapshot": base + "/snapshot.jpg",
                "clip": base + "/clip.mp4",
            },
        }


_JSON_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class EventUpdate:
    """A change in an event's life, as published on the bus. Treat it, and its events,
    as read-only once published: every subscriber gets the same object."""

    type: EventType
    after: Event
    before: Event | None = None
    """The event as last published (``None`` for ``new``: the JSON then repeats ``after``,
    as Frigate does)."""
    _json: bytes | None = field(default=None, init=False, repr=False, compare=False)

    def as_dict(self) -> dict[str, object]:
        after = self.after.as_dict()
        before = after if self.before is None else self.before.as_dict()
        return {"type": self.type, "before": before, "after": after}

    @property
    def json(self) -> bytes:
        """``{"type", "before", "after"}`` as compact UTF-8 JSON, built once on first use
        and then shared by every output (MQTT, webhooks, the event stream)."""
        cached = self._json
        if cached is None:
            with _JSON_LOCK:
                cached = self._json
                if cached is None:
                    cached = json.dumps(self.as_dict(), separators=(",", ":"), default=str).encode()
                    object.__setattr__(self, "_json", cached)
        return cached


@dataclass(frozen=True, slots=True)
class ActiveCount:
    """How many events of ``label`` are going on on ``camera``: the event manager publishes
    one whenever that number changes (sinks map it to a topic, never count themselves)."""

    camera: CameraName
    label: str
    active: int
