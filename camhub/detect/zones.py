"""Zones (polygons) and counting lines on one camera's picture, in frame pixels.

An object is *in* a zone when its reference point, the bottom centre of its box (where a
person stands), is inside the polygon. A line ``a -> b`` counts an object each time the
reference point's path crosses the segment: ``in`` when it moves from the right-hand side
of ``a -> b`` to the left-hand side (in image coordinates, y down), ``out`` the other way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from camhub.detect.labels import resolve, same
from camhub.types import ArgumentError

Point = tuple[float, float]
Direction = Literal["in", "out"]


@dataclass(frozen=True, slots=True)
class Zone:
    name: str
    polygon: tuple[Point, ...]
    labels: frozenset[str] = frozenset()
    """Only these labels count in the zone (empty: all)."""
    loiter_s: float | None = None
    """Seconds in the zone after which an object is loitering (``None``: never)."""

    def __post_init__(self) -> None:
        if len(self.polygon) < 3:
            raise ArgumentError(f"zone {self.name!r} needs at least 3 points")

    def applies_to(self, label: str) -> bool:
        return _applies(self.labels, label)

    def resolved(self, known: Sequence[str], camera: str = "") -> Zone:
        """This zone with its labels as the detector spells them (``motorbike`` ->
        ``motorcycle``); :class:`~camhub.detect.labels.UnknownLabel` for one it lacks."""
        what = f"zone {self.name!r}" + (f" on camera {camera!r}" if camera else "")
        labels = frozenset(resolve(x, known, what=what) for x in sorted(self.labels))
        return dataclasses.replace(self, labels=labels)

    def contains(self, p: Point) -> bool:
        """Even-odd ray casting (points on an edge may go either way)."""
        x, y = p
        inside = False
        pts = self.polygon
        j = len(pts) - 1
        for i in range(len(pts)):
            xi, yi = pts[i]
            xj, yj = pts[j]
            if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
                inside = not inside
            j = i
        return inside


def _applies(labels: frozenset[str], label: str) -> bool:
    # Old and COCO spellings are one label (a zone for "motorbike" counts "motorcycle").
    return not labels or label in labels or any(same(label, x) for x in labels)


def _side(a: Point, b: Point, p: Point) -> float:
    return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])


@dataclass(slots=True)
class Line:
    name: str
    a: Point
    b: Point
    labels: frozenset[str] = frozenset()
    counts: dict[str, int] = field(default_factory=lambda: {"in": 0, "out": 0})

    def applies_to(self, label: str) -> bool:
        return _applies(self.labels, label)

    def resolve_labels(self, known: Sequence[str], camera: str = "") -> None:
        """Spell the labels as the detector does, in place (the counts stay with this
        object); :class:`~camhub.detect.labels.UnknownLabel` for one it lacks."""
        what = f"line {self.name!r}" + (f" on camera {camera!r}" if camera else "")
        self.labels = frozenset(resolve(x, known, what=what) for x in sorted(self.labels))

    def crossing(self, p: Point, q: Point) -> Direction | None:
        """The direction in which the move ``p -> q`` crosses the segment, if it does."""
        s1, s2 = _side(self.a, self.b, p), _side(self.a, self.b, q)
        if s1 == 0 or s2 == 0 or (s1 > 0) == (s2 > 0):
            return None
        # The move crosses the infinite line; check it crosses within the segment.
        t1, t2 = _side(p, q, self.a), _side(p, q, self.b)
        if (t1 > 0) == (t2 > 0) and t1 != 0 and t2 != 0:
            return None
        # Image y points down, so a negative side is the left-hand side of a -> b.
        return "in" if s1 > 0 > s2 else "out"


def polygon(points: Sequence[Sequence[float]]) -> tuple[Point, ...]:
    return tuple((float(p[0]), float(p[1])) for p in points)
