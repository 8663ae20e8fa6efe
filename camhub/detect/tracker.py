"""Multi-object tracking: give each detected object an id that stays with it across frames.

SORT-style, with ByteTrack's second chance for weak detections:

1. every track predicts where it is now from a constant-velocity model (centre and size,
   smoothed by an alpha-beta filter: a Kalman filter with fixed gains, which is all SORT's
   Kalman does at steady state); the velocity is measured outright from a track's first
   two sightings, so a new track predicts as well as an old one;
2. confident detections are matched to predictions by IoU, best pairs first, same label
   only; those IoU leaves over are then matched by centre distance, measured in box sizes
   and allowed to grow with the time since the track was seen (looks can come seconds apart
   on a busy machine or with a slow model, and a walking person moves more than their own
   width in that time); then weak detections (``low_score`` <= score < ``high_score``) get
   a chance to extend confirmed tracks left unmatched, so a person half-hidden while
   crossing keeps their id;
3. unmatched confident detections start tentative tracks, confirmed after ``min_hits``
   sightings. A tentative track ends after ``tentative_misses`` looks missed it or when a
   look misses it ``tentative_window`` seconds after it was seen (a time, not a count, so
   that one missed look does not lose a person when looks are slow); a confirmed track ends
   when ``max_misses`` looks in a row missed it *and* it has not been seen for ``max_age``
   seconds.

Only looks that covered a track count as misses: the scheduler runs the detector on the
moving part of the picture (``region``) and not at all when nothing moves, so a parked
car or a person standing still keeps its track until a look at its place finds it gone.

Every box the tracker holds lies inside the picture (``size``): detections are clipped as
they come in, and so is the filter's blend of prediction and measurement, which would
otherwise run past the edge as an object leaves.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from camhub.detect.base import Box, iou_matrix

XYWH = tuple[float, float, float, float]
Size = tuple[int, int]


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
    """Pixels per second of ``cx, cy, w, h`` (unknown, zero, until the second sighting)."""
    horizon: float = 1.0
    """How far ahead (s) the motion model may predict: a little beyond the latest gap
    between sightings, so that after a long still spell a stale velocity cannot fling the
    box away, while slow looks still get a prediction that reaches."""
    top_score: float = 0.0
    matched: bool = True
    """Seen in the latest update (false while the tracker coasts on its prediction)."""
    history: list[tuple[float, float, float]] = field(default_factory=list)
    """``(at, x, y)`` of the reference point (bottom centre) at each sighting, last 32."""

    @property
    def int_box(self) -> tuple[int, int, int, int]:
        # Round the edges, not the width: a box that ends at the picture's edge still does.
        x, y, w, h = self.box
        x1, y1 = round(x), round(y)
        return (x1, y1, round(x + w) - x1, round(y + h) - y1)

    @property
    def foot(self) -> tuple[float, float]:
        """Bottom centre: where a person stands, used for zones and lines."""
        x, y, w, h = self.box
        return (x + w / 2, y + h)

    def predict(self, at: float) -> XYWH:
        dt = min(self.horizon, max(0.0, at - self.last_seen))
        x, y, w, h = self.box
        cx, cy = x + w / 2, y + h / 2
        vx, vy, vw, vh = self.velocity
        cx, cy = cx + vx * dt, cy + vy * dt
        # A size trend is noisy: let it at most halve or double the box.
        w = max(1.0, min(2 * w, max(w / 2, w + vw * dt)))
        h = max(1.0, min(2 * h, max(h / 2, h + vh * dt)))
        return (cx - w / 2, cy - h / 2, w, h)


def clip(box: XYWH, size: Size | None) -> XYWH:
    """``box`` cut to the picture (``size`` = width, height), at least 1 px inside it."""
    if size is None:
        return box
    width, height = size
    x, y, w, h = box
    x1 = min(max(x, 0.0), width - 1.0)
    y1 = min(max(y, 0.0), height - 1.0)
    x2 = max(min(x + w, float(width)), x1 + 1.0)
    y2 = max(min(y + h, float(height)), y1 + 1.0)
    return (x1, y1, x2 - x1, y2 - y1)


def _clip_box(b: Box, size: Size | None) -> Box | None:
    """A detection cut to the picture; ``None`` if none of it is inside."""
    if size is None:
        return b
    width, height = size
    x1, y1 = max(b.x, 0), max(b.y, 0)
    x2, y2 = min(b.x + b.w, width), min(b.y + b.h, height)
    if x2 <= x1 or y2 <= y1:
        return None
    if (x1, y1, x2 - x1, y2 - y1) == b.xywh:
        return b
    return dataclasses.replace(b, x=x1, y=y1, w=x2 - x1, h=y2 - y1)


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
        tentative_window: float = 4.0,
        tentative_misses: int = 3,
        reach: float = 0.5,
        max_speed: float = 1.2,
        speed_error: float = 0.3,
        max_horizon: float = 5.0,
        gain: float = 0.6,
        velocity_gain: float = 0.4,
    ) -> None:
        """``reach``, ``max_speed`` and ``speed_error`` size the distance match, in box
        sizes (the larger side): a detection within ``reach`` of a track's prediction, plus
        ``max_speed`` per second since it was seen for a track with no velocity yet (a
        walking person covers about 0.8 of their height a second) or ``speed_error`` per
        second for one whose velocity is measured, can continue it."""
        self.high_score = high_score
        self.low_score = low_score
        self.iou_threshold = iou_threshold
        self.min_hits = min_hits
        self.max_age = max_age
        self.max_misses = max_misses
        self.tentative_window = tentative_window
        self.tentative_misses = tentative_misses
        self.reach = reach
        self.max_speed = max_speed
        self.speed_error = speed_error
        self.max_horizon = max_horizon
        self.gain = gain
        self.velocity_gain = velocity_gain
        self.size: Size | None = None
        """The picture's width and height, from the latest update that gave it."""
        self.tracks: list[Track] = []
        self._next_id = 1

    def update(
        self,
        boxes: Sequence[Box],
        at: float,
        region: tuple[int, int, int, int] | None = None,
        size: tuple[int, int] | None = None,
    ) -> tuple[list[Track], list[Track]]:
        """Feed one look's detections (made inside ``region``, or the whole frame, of a
        picture ``size`` = width, height); returns (live tracks, tracks that just ended)."""
        if size is not None and size[0] > 0 and size[1] > 0:
            self.size = (int(size[0]), int(size[1]))
        for t in self.tracks:
            t.matched = False
        inside = [c for c in (_clip_box(b, self.size) for b in boxes) if c is not None]
        strong = [b for b in inside if b.score >= self.high_score]
        weak = [b for b in inside if self.low_score <= b.score < self.high_score]
        strong = self._match_iou(self.tracks, strong, at)
        strong = self._match_near([t for t in self.tracks if not t.matched], strong, at)
        self._match_iou([t for t in self.tracks if not t.matched and t.confirmed], weak, at)
        for b in strong:
            self._start(b, at)
        ended = []
        for t in self.tracks:
            if t.matched or not _covers(region, self._predict(t, at)):
                continue
            t.misses += 1
            unseen = at - t.last_seen
            if t.confirmed:
                gone = t.misses >= self.max_misses and unseen >= self.max_age
            else:  # noise, unless a look soon finds it again
                gone = t.misses >= self.tentative_misses or unseen >= self.tentative_window
            if gone:
                ended.append(t)
        self.tracks = [t for t in self.tracks if t not in ended]
        return list(self.tracks), [t for t in ended if t.confirmed]

    def _predict(self, t: Track, at: float) -> XYWH:
        return clip(t.predict(at), self.size)

    def _match_iou(self, tracks: list[Track], boxes: list[Box], at: float) -> list[Box]:
        if not tracks or not boxes:
            return list(boxes)
        predicted = np.array([self._predict(t, at) for t in tracks], dtype=np.float32)
        found = np.array([b.xywh for b in boxes], dtype=np.float32)
        iou = iou_matrix(predicted, found)
        labels_differ = np.array([[t.label != b.label for b in boxes] for t in tracks])
        iou[labels_differ] = 0.0
        cost = np.where(iou >= self.iou_threshold, -iou, np.inf)
        return self._assign(tracks, boxes, cost, at)

    def _match_near(self, tracks: list[Track], boxes: list[Box], at: float) -> list[Box]:
        """Pairs that do not overlap, but are close enough for the time that has passed."""
        if not tracks or not boxes:
            return list(boxes)
        cost = np.full((len(tracks), len(boxes)), np.inf)
        for ti, t in enumerate(tracks):
            px, py, pw, ph = _centre(self._predict(t, at))
            dt = min(self.max_horizon, max(0.0, at - t.last_seen))
            speed = self.max_speed if t.hits < 2 else self.speed_error
            gate = self.reach + speed * dt
            for bi, b in enumerate(boxes):
                if b.label != t.label:
                    continue
                bx, by, bw, bh = _centre(tuple(float(v) for v in b.xywh))  # type: ignore[arg-type]
                # The same object keeps at least one side (clipping at an edge cuts the other).
                if min(max(bw / pw, pw / bw), max(bh / ph, ph / bh)) > 2.0:
                    continue
                d = math.hypot(bx - px, by - py) / max(pw, ph, bw, bh)
                if d <= gate:
                    cost[ti, bi] = d / gate
        return self._assign(tracks, boxes, cost, at)

    def _assign(
        self, tracks: list[Track], boxes: list[Box], cost: np.ndarray, at: float
    ) -> list[Box]:
        """Greedy, cheapest pair first (``inf``: not allowed); corrects the matched tracks
        and returns the boxes left over. For the handful of objects one camera sees this
        matches what the Hungarian method would, without its cost."""
        used_t: set[int] = set()
        used_b: set[int] = set()
        for flat in np.argsort(cost, axis=None, kind="stable"):
            ti, bi = divmod(int(flat), len(boxes))
            if not np.isfinite(cost[ti, bi]):
                break
            if ti in used_t or bi in used_b:
                continue
            used_t.add(ti)
            used_b.add(bi)
            self._correct(tracks[ti], boxes[bi], at)
        return [b for i, b in enumerate(boxes) if i not in used_b]

    def _correct(self, t: Track, b: Box, at: float) -> None:
        dt = at - t.last_seen
        meas = _centre(tuple(float(v) for v in b.xywh))  # type: ignore[arg-type]
        old = _centre(t.box)
        if t.hits < 2:
            # Second sighting: the prediction knew no velocity, so it has nothing to add to
            # the measurement; the move between the two sightings is the velocity.
            new = meas
            if dt > 1e-6:
                seen_v = tuple((n - o) / dt for n, o in zip(new, old, strict=True))
                t.velocity = (seen_v[0], seen_v[1], *(self.velocity_gain * v for v in seen_v[2:]))  # type: ignore[assignment]
        else:
            pred = _centre(clip(t.predict(at), self.size))
            new = tuple(p + self.gain * (m - p) for p, m in zip(pred, meas, strict=True))  # type: ignore[assignment]
            if dt > 1e-6:
                seen_v = tuple((n - o) / dt for n, o in zip(new, old, strict=True))
                t.velocity = tuple(  # type: ignore[assignment]
                    v + self.velocity_gain * (s - v)
                    for v, s in zip(t.velocity, seen_v, strict=True)
                )
        if dt > 1e-6:
            t.horizon = min(self.max_horizon, max(1.0, 1.5 * dt))
        cx, cy, w, h = new
        t.box = clip((cx - w / 2, cy - h / 2, w, h), self.size)
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
