"""The one event model for everything the hub notices: a camera going offline, motion,
an object a detector tracks.

Producers (the hub's offline watch, the motion processor, the object tracker) publish an
:class:`EventUpdate` on the :class:`~camhub.bus.EventBus` each time an event starts, changes
or ends; the event store, the recorder and the notifiers subscribe. ``before``/``after``
follow Frigate's MQTT ``events`` payload, so home-automation rules written for it carry over.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass, field
from typing import Literal

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

    def copy(self) -> Event:
        return dataclasses.replace(self, zones=list(self.zones), data=dict(self.data))

    def as_dict(self) -> dict[str, object]:
        """JSON-ready, without the snapshot bytes."""
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
        }


@dataclass(frozen=True, slots=True)
class EventUpdate:
    """A change in an event's life, as published on the bus."""

    type: EventType
    after: Event
    before: Event | None = None
