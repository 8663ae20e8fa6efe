"""Turns "is it there in this frame?" into an event's life: ``new``, ``update``, ``end``.

Processors (motion, your own) see one frame at a time; events need memory: a flicker of
two frames is not an event (``min_frames``), and a pause shorter than ``end_after`` seconds
does not split one event into two. One tracker follows one thing (a label, or one track)
on one camera; a processor that follows many keeps one per key. The new/update/end
bookkeeping itself is the shared :class:`~camhub.events.lifecycle.Lifecycle`.
"""

from __future__ import annotations

from collections.abc import Callable

from camhub.events.lifecycle import Lifecycle, Publish
from camhub.events.model import Event
from camhub.types import ArgumentError, CameraName

Snapshot = bytes | Callable[[], bytes] | None
"""A JPEG, or a function that makes one: called only when the frame is the event's best."""


class EventTracker:
    """Feed it every processed frame with :meth:`observe`; it calls ``publish`` with an
    :class:`~camhub.events.model.EventUpdate` when an event starts, gets a better
    snapshot, or ends."""

    def __init__(
        self,
        camera: CameraName,
        label: str,
        publish: Publish,
        *,
        min_frames: int = 2,
        end_after: float = 3.0,
        update_every: float = 1.0,
        track_id: int | None = None,
    ) -> None:
        if min_frames < 1:
            raise ArgumentError(f"min_frames must be at least 1, got {min_frames}")
        if end_after < 0:
            raise ArgumentError(f"end_after must not be negative, got {end_after}")
        self.camera = camera
        self.label = label
        self.min_frames = min_frames
        self.end_after = end_after
        self.update_every = update_every
        self.track_id = track_id
        self._events: Lifecycle[str] = Lifecycle(publish)
        self._streak = 0
        self._first_seen = 0.0
        self._last_seen = 0.0
        self._last_update = 0.0
        self._dirty = False

    @property
    def publish(self) -> Publish:
        return self._events.publish

    @property
    def event(self) -> Event | None:
        """The event going on, if any."""
        return self._events.get(self.label)

    def observe(
        self,
        at: float,
        present: bool,
        *,
        score: float | None = None,
        box: tuple[int, int, int, int] | None = None,
        snapshot: Snapshot = None,
        data: dict[str, object] | None = None,
    ) -> None:
        """Record one frame taken at ``at`` (seconds, ``time.time()`` clock)."""
        event = self.event
        if event is not None and at - self._last_seen > self.end_after:
            self.end(self._last_seen)  # the thing left while no frames came (offline)
            event = None
        if not present:
            self._streak = 0
            if event is not None:
                if at - self._last_seen >= self.end_after:
                    self.end(self._last_seen)
                elif self._dirty and at - self._last_update >= self.update_every:
                    self._send_update(at)
            return
        if self._streak == 0:
            self._first_seen = at
        self._streak += 1
        self._last_seen = at
        if event is None:
            if self._streak < self.min_frames:
                return
            self._last_update = at
            self._dirty = False
            self._events.start(
                self.label,
                Event(
                    camera=self.camera,
                    label=self.label,
                    start=self._first_seen,
                    score=score,
                    top_score=score,
                    box=box,
                    snapshot=_jpeg(snapshot),
                    track_id=self.track_id,
                    data=dict(data or {}),
                ),
            )
            return
        event.score = score
        if score is not None and (event.top_score is None or score > event.top_score):
            event.top_score = score
            event.box = box
            event.snapshot = _jpeg(snapshot) or event.snapshot
            self._dirty = True
        if data:
            event.data.update(data)
        if self._dirty and at - self._last_update >= self.update_every:
            self._send_update(at)

    def _send_update(self, at: float) -> None:
        self._last_update = at
        self._dirty = False
        self._events.update(self.label)

    def tick(self, now: float) -> None:
        """Time passed without a frame: end the event if its thing has been gone for
        ``end_after`` seconds (a camera that stopped sending ends its motion too)."""
        if self.event is not None and now - self._last_seen >= self.end_after:
            self.end(self._last_seen)

    def end(self, at: float | None = None) -> None:
        """End the event going on (if any) at ``at`` (default: when last seen)."""
        if self.event is None:
            return
        self._streak = 0
        self._dirty = False
        self._events.end(self.label, self._last_seen if at is None else at)


def _jpeg(snapshot: Snapshot) -> bytes | None:
    return snapshot() if callable(snapshot) else snapshot
