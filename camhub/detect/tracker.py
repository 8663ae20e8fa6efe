"""Multi-object tracking: give each detected object an id that stays with it across frames.

SORT-style, with ByteTrack's second chance for weak detections:

1. every track predicts where it is now from a constant-velocity model (centre and size,
   smoothed by an alpha-beta filter: a Kalman filter with fixed gains, which is all SORT's
   Kalman does at steady state);
2. confident detections are matched to predictions by IoU, best pairs first, same label
   only; then weak detections (``low_score`` <= score < ``high_score``) get a chance to
   extend the tracks left unmatched, so a person half-hidden while crossing keeps their id;
3. unmatched confident detections start tentative tracks, confirmed after ``min_hits``
   sightings; a track ends when ``max_misses`` looks in a row missed it *and* it has not
   been seen for ``max_age`` seconds.

Only looks that covered a track count as misses: the scheduler runs the detector on the
moving part of the picture (``region``) and not at all when nothing moves, so a parked
car or a person standing still keeps its track until a look at its place finds it gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from camhub.detect.base import Box, iou_matrix

XYWH = tuple[float, float, float, float]


@dataclass(slots=True)
class Track:
    id: int
    label: str
    box: XYWH
    score: float
    first_seen: float
    last_seen: float
    hits: int = 1
    misses: int = 0
    """Looks in a row that covered this track and did not find it."""
    confirmed: bool = False
    velocity: XYWH = (0.0, 0.0, 0.0, 0.0)
    """Pixels per second of ``cx, cy, w, h``."""
    top_score: float = 0.0
    matched: bool = True
    """Seen in the latest update (false while the tracker coasts on its prediction)."""
    history: list[tuple[float, float, float]] = field(default_factory=list)
    """``(at, x, y)`` of the reference point (bottom centre) at each sighting, last 32."""

    @property
    def int_box(self) -> tuple[int, int, int, int]:
        x, y, w, h = self.box
        return (round(x), round(y), round(w), round(h))

    @property
    def foot(self) -> tuple[float, float]:
        """Bottom centre: where a person stands, used for zones and lines."""
        x, y, w, h = self.box
        return (x + w / 2, y + h)

    def predict(self, at: float) -> XYWH:
        # Capped: after a long still spell, a stale velocity must not fling the box away.
        dt = min(1.0, max(0.0, at - self.last_seen))
        x, y, w, h = self.box
        cx, cy = x + w / 2, y + h / 2
        vx, vy, vw, vh = self.velocity
        cx, cy = cx + vx * dt, cy + vy * dt
        w, h = max(1.0, w + vw * dt), max(1.0, h + vh * dt)
        return (cx - w / 2, cy - h / 2, w, h)


def _covers(region: tuple[int, int, int, int] | None, box: XYWH) -> bool:
    if region is None:
        return True
    rx, ry, rw, rh = region
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    return rx <= cx <= rx + rw and ry <= cy <= ry + rh


def _centre(b: XYWH) -> XYWH:
    x, y, w, h = b
    return (x + w / 2, y + h / 2, w, h)


class Tracker:
    def __init__(
        self,
        *,
        high_score: float = 0.5,
        low_score: float = 0.2,
        iou_threshold: float = 0.2,
        min_hits: int = 2,
        max_age: float = 1.0,
        max_misses: int = 3,
        gain: float = 0.6,
        velocity_gain: float = 0.4,
    ) -> None:
        self.high_score = high_score
        self.low_score = low_score
        self.iou_threshold = iou_threshold
        self.min_hits = min_hits
        self.max_age = max_age
        self.max_misses = max_misses
        self.gain = gain
        self.velocity_gain = velocity_gain
        self.tracks: list[Track] = []
        self._next_id = 1

    def update(
        self,
        boxes: Sequence[Box],
        at: float,
        region: tuple[int, int, int, int] | None = None,
    ) -> tuple[list[Track], list[Track]]:
        """Feed one look's detections (made inside ``region``, or the whole frame);
        returns (live tracks, tracks that just ended)."""
        for t in self.tracks:
            t.matched = False
        strong = [b for b in boxes if b.score >= self.high_score]
        weak = [b for b in boxes if self.low_score <= b.score < self.high_score]
        unmatched_strong = self._match(self.tracks, strong, at)
        left = [t for t in self.tracks if not t.matched and t.confirmed]
        self._match(left, weak, at)
        for b in unmatched_strong:
            self._start(b, at)
        ended = []
        for t in self.tracks:
            if t.matched or not _covers(region, t.predict(at)):
                continue
            t.misses += 1
            # A tentative track missed once is noise, not an object.
            if not t.confirmed or (
                t.misses >= self.max_misses and at - t.last_seen >= self.max_age
            ):
                ended.append(t)
        self.tracks = [t for t in self.tracks if t not in ended]
        return list(self.tracks), [t for t in ended if t.confirmed]

    def _match(self, tracks: list[Track], boxes: list[Box], at: float) -> list[Box]:
        if not tracks or not boxes:
            return list(boxes)
        predicted = np.array([t.predict(at) for t in tracks], dtype=np.float32)
        found = np.array([b.xywh for b in boxes], dtype=np.float32)
        iou = iou_matrix(predicted, found)
        labels_differ = np.array([[t.label != b.label for b in boxes] for t in tracks])
        iou[labels_differ] = 0.0
        used_t: set[int] = set()
        used_b: set[int] = set()
        # Greedy best-IoU-first: for the handful of objects one camera sees this matches
        # what the Hungarian method would, without its cost.
        for flat in np.argsort(-iou, axis=None):
            ti, bi = divmod(int(flat), len(boxes))
            if iou[ti, bi] < self.iou_threshold:
                break
            if ti in used_t or bi in used_b:
                continue
            used_t.add(ti)
            used_b.add(bi)
            self._correct(tracks[ti], boxes[bi], at)
        return [b for i, b in enumerate(boxes) if i not in used_b]

    def _correct(self, t: Track, b: Box, at: float) -> None:
        dt = at - t.last_seen
        pred = _centre(t.predict(at))
        meas = _centre(tuple(float(v) for v in b.xywh))  # type: ignore[arg-type]
        new = tuple(p + self.gain * (m - p) for p, m in zip(pred, meas, strict=True))
        if dt > 1e-6:
            old = _centre(t.box)
            seen_v = tuple((n - o) / dt for n, o in zip(new, old, strict=True))
            t.velocity = tuple(  # type: ignore[assignment]
                v + self.velocity_gain * (s - v) for v, s in zip(t.velocity, seen_v, strict=True)
            )
        cx, cy, w, h = new
        t.box = (cx - w / 2, cy - h / 2, w, h)
        t.score = b.score
        t.top_score = max(t.top_score, b.score)
        t.last_seen = at
        t.hits += 1
        t.misses = 0
        t.matched = True
        if t.hits >= self.min_hits:
            t.confirmed = True
        fx, fy = t.foot
        t.history.append((at, fx, fy))
        del t.history[:-32]

    def _start(self, b: Box, at: float) -> None:
        x, y, w, h = (float(v) for v in b.xywh)
        t = Track(
            id=self._next_id,
            label=b.label,
            box=(x, y, w, h),
            score=b.score,
            first_seen=at,
            last_seen=at,
            top_score=b.score,
            confirmed=self.min_hits <= 1,
        )
        t.history.append((at, *t.foot))
        self._next_id += 1
        self.tracks.append(t)
