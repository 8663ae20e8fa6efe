"""From tracks to events: one :class:`CameraObjects` per camera turns the tracker's output
into events through the shared :class:`~camhub.events.lifecycle.Lifecycle`, keyed by track
(``new`` when a track is confirmed, ``update`` when its zones change, it crosses a line,
starts loitering or gets a clearly better snapshot, ``end`` when it is lost), and keeps
per-camera counts. A look that changes nothing worth telling copies nothing.

The snapshot is the JPEG of the frame where the object scored best, with a penalty for a
box cut off by the frame edge (a person half out of the picture makes a poor snapshot).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from camhub.detect.base import Box
from camhub.detect.stats import ObjectCounts
from camhub.detect.tracker import Track, Tracker
from camhub.detect.zones import Line, Zone
from camhub.events.lifecycle import Lifecycle, Publish
from camhub.events.model import Event
from camhub.types import CameraName, Frame


def snapshot_quality(
    box: tuple[int, int, int, int], score: float, width: int, height: int
) -> float:
    x, y, w, h = box
    margin = 2
    cut = sum((x <= margin, y <= margin, x + w >= width - margin, y + h >= height - margin))
    return score * (1.0 - 0.15 * cut)


@dataclass(slots=True)
class _Live:
    """What the events layer remembers about one confirmed track."""

    event: Event
    """The live event (the lifecycle's): changed in place, copied only when published."""
    zones_since: dict[str, float] = field(default_factory=dict)
    loitering: set[str] = field(default_factory=set)
    entered: list[dict[str, object]] = field(default_factory=list)
    left: list[dict[str, object]] = field(default_factory=list)
    crossed: list[dict[str, object]] = field(default_factory=list)
    best_quality: float = -1.0
    last_update: float = 0.0


class CameraObjects:
    def __init__(
        self,
        camera: CameraName,
        publish: Publish,
        *,
        labels: Sequence[str] = (),
        zones: Sequence[Zone] = (),
        lines: Sequence[Line] = (),
        tracker: Tracker | None = None,
        update_every: float = 1.0,
    ) -> None:
        self.camera = camera
        self.labels = frozenset(labels)
        """Labels to track (empty: every label the detector knows)."""
        self.zones = list(zones)
        self.lines = list(lines)
        self.tracker = tracker or Tracker()
        self.update_every = update_every
        self._events: Lifecycle[int] = Lifecycle(publish)
        self._live: dict[int, _Live] = {}

    @property
    def publish(self) -> Publish:
        return self._events.publish

    @property
    def events_started(self) -> int:
        return self._events.started

    def update(
        self,
        frame: Frame,
        boxes: Sequence[Box],
        at: float | None = None,
        region: tuple[int, int, int, int] | None = None,
    ) -> list[Track]:
        """Feed the detections made on ``frame`` (inside ``region``, or all of it);
        publishes event updates, returns the confirmed tracks (for drawing)."""
        at = frame.received_at if at is None else at
        wanted = [b for b in boxes if not self.labels or b.label in self.labels]
        width, height = frame.width or 0, frame.height or 0
        # The tracker clips every box it holds to the picture: events, snapshots and the
        # overlay carry its boxes.
        live, ended = self.tracker.update(wanted, at, region, size=(width, height))
        for t in live:
            if t.confirmed:
                self._observe(t, frame, at, width, height)
        for t in ended:
            self._end(t)
        return [t for t in live if t.confirmed]

    def tracks(self) -> list[Track]:
        return [t for t in self.tracker.tracks if t.confirmed]

    def close(self, at: float) -> None:
        """End every live event (the camera went away or the hub stops)."""
        for t in self.tracker.tracks:
            if t.id in self._live:
                t.last_seen = min(t.last_seen, at)
                self._end(t)
        self.tracker.tracks.clear()

    def _observe(self, t: Track, frame: Frame, at: float, width: int, height: int) -> None:
        state = self._live.get(t.id)
        new = state is None
        if state is None:
            event = Event(camera=self.camera, label=t.label, start=t.first_seen, track_id=t.id)
            state = self._live[t.id] = _Live(event)
        ev = state.event
        ev.score = t.score
        ev.top_score = max(ev.top_score or 0.0, t.score)
        ev.box = t.int_box
        changed: list[str] = []
        if t.matched:
            q = snapshot_quality(t.int_box, t.score, width, height)
            if q > state.best_quality * 1.1 or state.best_quality < 0:
                state.best_quality = q
                ev.snapshot = frame.to_jpeg()
                ev.data["snapshot_box"] = list(t.int_box)
                ev.data["snapshot_at"] = at
                changed.append("snapshot")
        changed += self._zones(t, state, at)
        changed += self._lines(t, state, at)
        if new:
            state.last_update = at
            self._fill(state, at)
            self._events.start(t.id, ev)
            return
        structural = any(c != "snapshot" for c in changed)
        if structural or (changed and at - state.last_update >= self.update_every):
            state.last_update = at
            self._fill(state, at)
            self._events.update(t.id)

    @staticmethod
    def _fill(state: _Live, at: float) -> None:
        """The zone and line history in the event's data, as of ``at`` (just before it is
        published: looks in between change only the lists, not the event)."""
        data = state.event.data
        data["entered"] = list(state.entered)
        data["left"] = list(state.left)
        data["loitering"] = sorted(state.loitering)
        data["zone_time"] = {n: round(at - s, 3) for n, s in state.zones_since.items()}
        data["crossed"] = list(state.crossed)

    def _zones(self, t: Track, state: _Live, at: float) -> list[str]:
        changed = []
        foot = t.foot
        for z in self.zones:
            if not z.applies_to(t.label):
                continue
            inside = z.contains(foot)
            was = z.name in state.zones_since
            if inside and not was:
                state.zones_since[z.name] = at
                state.entered.append({"zone": z.name, "at": at})
                changed.append(f"enter:{z.name}")
            elif not inside and was:
                since = state.zones_since.pop(z.name)
                state.loitering.discard(z.name)
                state.left.append({"zone": z.name, "at": at, "stayed_s": round(at - since, 3)})
                changed.append(f"leave:{z.name}")
            elif (
                inside
                and z.loiter_s is not None
                and z.name not in state.loitering
                and at - state.zones_since[z.name] >= z.loiter_s
            ):
                state.loitering.add(z.name)
                changed.append(f"loiter:{z.name}")
        if changed:
            state.event.zones = sorted(state.zones_since)
        return changed

    def _lines(self, t: Track, state: _Live, at: float) -> list[str]:
        if len(t.history) < 2 or not t.matched:
            return []
        (_, px, py), (_, qx, qy) = t.history[-2], t.history[-1]
        changed = []
        for line in self.lines:
            if not line.applies_to(t.label):
                continue
            d = line.crossing((px, py), (qx, qy))
            if d is not None:
                line.counts[d] += 1
                state.crossed.append({"line": line.name, "direction": d, "at": at})
                changed.append(f"cross:{line.name}")
        return changed

    def _end(self, t: Track) -> None:
        state = self._live.pop(t.id, None)
        if state is None:
            return
        self._fill(state, t.last_seen)
        self._events.end(t.id, t.last_seen)

    def counts(self) -> ObjectCounts:
        """Objects in view by label, objects per zone, and line counts."""
        by_label: dict[str, int] = {}
        for t in self.tracker.tracks:
            if t.confirmed:
                by_label[t.label] = by_label.get(t.label, 0) + 1
        in_zone = {z.name: 0 for z in self.zones}
        for state in self._live.values():
            for name in state.event.zones:
                in_zone[name] = in_zone.get(name, 0) + 1
        return ObjectCounts(
            objects=by_label,
            zones=in_zone,
            lines={line.name: dict(line.counts) for line in self.lines},
            events_started=self.events_started,
        )
