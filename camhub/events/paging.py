"""Paging over the whole event history, newest first, and the filters the review page
offers (what the data holds: cameras, labels, zones, the first and last event).

Pages are *keyset* pages: a page ends with a :class:`Cursor` (the last event's ``start``
and ``id``) and the next page starts strictly after it in ``(start, id)`` order. Unlike
``OFFSET``, this costs the same on page 1000 as on page 1 (the database walks the
``(start, id)`` index from the cursor), and events that arrive meanwhile do not shift
what the next page holds. This module only builds SQL; :class:`~camhub.events.store.EventStore`
runs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from camhub.events.model import Event
from camhub.types import CamhubError


class BadCursor(CamhubError, ValueError):
    """A page cursor that this module did not write."""


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page ended: the last event's ``start`` and ``id``."""

    start: float
    id: str

    def token(self) -> str:
        # repr() of a float reads back exactly, and has no ":" in it
        return f"{self.start!r}:{self.id}"

    @classmethod
    def parse(cls, token: str) -> Cursor:
        start, sep, eid = token.partition(":")
        try:
            value = float(start)
        except ValueError:
            value = float("nan")
        if not sep or not eid or value != value or value in (float("inf"), float("-inf")):
            raise BadCursor(f"not a page cursor: {token[:80]!r} (use the 'next' of a page)")
        return cls(value, eid)


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events a page holds; ``None`` is "any"."""

    camera: str | None = None
    labels: Sequence[str] | None = None
    """Any of these labels (a label and its old names)."""
    zone: str | None = None
    after: float | None = None
    """Events going on at or after this time (overlap, as in the events API)."""
    before: float | None = None
    """Events that started at or before this time."""
    reviewed: bool | None = None
    """True: only those marked reviewed; False: only those not yet reviewed."""


@dataclass(slots=True)
class EventPage:
    events: list[Event]
    reviewed: dict[str, float] = field(default_factory=dict)
    """When each reviewed event of the page was marked (ids not here: not reviewed)."""
    next: Cursor | None = None
    """Where the next (older) page starts; ``None``: this was the last page."""


def page_sql(
    columns: str, flt: EventFilter, cursor: Cursor | None, limit: int
) -> tuple[str, list[object]]:
    """``SELECT columns, reviewed`` of one page, newest first, ``limit + 1`` rows (the
    extra row only says whether there is a next page)."""
    where: list[str] = []
    args: list[object] = []
    if flt.camera is not None:
        where.append("camera = ?")
        args.append(flt.camera)
    if flt.labels is not None:
        labels = list(flt.labels)
        where.append(f"label IN ({', '.join('?' * len(labels))})" if labels else "0")
        args.extend(labels)
    if flt.zone is not None:
        # in the zone now, or ever during the event (an object event's data.entered)
        where.append(
            "(EXISTS (SELECT 1 FROM json_each(events.zones) WHERE value = ?) OR EXISTS "
            "(SELECT 1 FROM json_each(events.data, '$.entered') AS z "
            "WHERE json_extract(z.value, '$.zone') = ?))"
        )
        args += [flt.zone, flt.zone]
    if flt.after is not None:
        where.append('("end" IS NULL OR "end" >= ?)')
        args.append(flt.after)
    if flt.before is not None:
        where.append("start <= ?")
        args.append(flt.before)
    if flt.reviewed is not None:
        where.append("reviewed IS NOT NULL" if flt.reviewed else "reviewed IS NULL")
    if cursor is not None:
        # row-value comparison: SQLite walks the (start, id) index from the cursor
        where.append("(start, id) < (?, ?)")
        args += [cursor.start, cursor.id]
    sql = f"SELECT {columns}, reviewed FROM events"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY start DESC, id DESC LIMIT ?"
    args.append(max(0, limit) + 1)
    return sql, args


@dataclass(frozen=True, slots=True)
class Facets:
    """What the filters can offer: every value the history holds."""

    cameras: list[str]
    labels: list[str]
    zones: list[str]
    first: float | None
    """Start of the oldest event (``None``: no events)."""
    last: float | None

    def as_dict(self) -> dict[str, object]:
        return {
            "cameras": self.cameras,
            "labels": self.labels,
            "zones": self.zones,
            "first": self.first,
            "last": self.last,
        }


FACETS_SCHEMA = """
CREATE TABLE IF NOT EXISTS facets (
    kind TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (kind, value)
) WITHOUT ROWID;
"""
"""The distinct cameras, labels and zones, kept as events are written, so the filters
cost a few rows to read whatever the number of events (a DISTINCT over the zones' JSON
would read every event)."""

FACETS_REBUILD = """
DELETE FROM facets;
INSERT OR IGNORE INTO facets SELECT 'camera', camera FROM events;
INSERT OR IGNORE INTO facets SELECT 'label', label FROM events;
INSERT OR IGNORE INTO facets SELECT 'zone', j.value FROM events, json_each(events.zones) AS j;
INSERT OR IGNORE INTO facets SELECT 'zone', json_extract(j.value, '$.zone')
    FROM events, json_each(events.data, '$.entered') AS j
    WHERE json_extract(j.value, '$.zone') IS NOT NULL;
"""


def facet_rows(events: Sequence[Event]) -> set[tuple[str, str]]:
    rows: set[tuple[str, str]] = set()
    for e in events:
        rows.add(("camera", e.camera))
        rows.add(("label", e.label))
        rows.update(("zone", z) for z in e.zones)
        entered = e.data.get("entered")
        if isinstance(entered, list):  # an object event's zones, also those it has left
            rows.update(
                ("zone", str(x["zone"])) for x in entered if isinstance(x, dict) and "zone" in x
            )
    return rows
