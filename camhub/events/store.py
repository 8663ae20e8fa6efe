"""Events in SQLite (``events.db`` in the data directory), so they survive a restart.

``save`` only queues: one writer thread commits whatever has piled up in a single
transaction a few times a second, so a burst of events costs one disk sync, and nothing
on the bus's or the receive thread's path ever waits for the disk. Snapshots are blobs
in their own table, so listing events never reads them.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from camhub.datadir import DataDirError, ensure_dir, open_db
from camhub.events.model import Event
from camhub.events.paging import (
    FACETS_REBUILD,
    FACETS_SCHEMA,
    Cursor,
    EventFilter,
    EventPage,
    Facets,
    facet_rows,
    page_sql,
)

log = logging.getLogger("camhub.events")

INTERRUPTED = "hub interrupted"
"""``data["ended_by"]`` of an event ended at start-up because the hub that watched it
died (a crash, SIGKILL, a power cut) before it could end it."""

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    camera TEXT NOT NULL,
    label TEXT NOT NULL,
    start REAL NOT NULL,
    "end" REAL,
    score REAL,
    top_score REAL,
    box TEXT,
    zones TEXT NOT NULL DEFAULT '[]',
    track_id INTEGER,
    data TEXT NOT NULL DEFAULT '{}',
    has_snapshot INTEGER NOT NULL DEFAULT 0,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_start ON events(start);
CREATE INDEX IF NOT EXISTS events_by_camera ON events(camera, start);
CREATE INDEX IF NOT EXISTS events_page ON events(start, id);
CREATE INDEX IF NOT EXISTS events_camera_page ON events(camera, start, id);
CREATE INDEX IF NOT EXISTS events_label_page ON events(label, start, id);
CREATE TABLE IF NOT EXISTS snapshots (id TEXT PRIMARY KEY, jpeg BLOB NOT NULL);
"""
    + FACETS_SCHEMA
)
_ADDED = {"reviewed": "REAL"}
"""Columns newer than the first schema, added to older databases on open. ``reviewed``:
when a person marked the event reviewed on the review page (NULL: not yet)."""

_COLUMNS = (
    'id, camera, label, start, "end", score, top_score, box, zones, track_id, data, has_snapshot'
)


def _row_event(row: tuple[object, ...]) -> Event:
    (eid, camera, label, start, end, score, top, box, zones, track, data, has_snap) = row
    event = Event(
        camera=str(camera),
        label=str(label),
        start=float(start),  # type: ignore[arg-type]
        id=str(eid),
        end=None if end is None else float(end),  # type: ignore[arg-type]
        score=None if score is None else float(score),  # type: ignore[arg-type]
        top_score=None if top is None else float(top),  # type: ignore[arg-type]
        box=None if box is None else tuple(json.loads(str(box))),
        zones=list(json.loads(str(zones))),
        track_id=None if track is None else int(track),  # type: ignore[call-overload]
        data=dict(json.loads(str(data))),
    )
    # has_snapshot without loading the blob: an empty marker; snapshot() fetches it.
    event.snapshot = b"" if has_snap else None
    return event


@dataclass(frozen=True, slots=True)
class EventStoreStats:
    """The event database: writes done, lost and failed."""

    path: str
    written: int
    """Event changes written to the database."""
    dropped: int
    errors: int
    """Failed writes."""
    last_error: str | None

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


class EventStore:
    """Open with :meth:`open`; ``save`` from any thread; ``close`` commits what is queued."""

    def __init__(
        self,
        path: Path,
        *,
        max_pending: int = 10_000,
        batch_every: float = 0.2,
        keep_days: float = 0.0,
    ) -> None:
        self.path = path
        self.keep_days = keep_days
        """Events that ended longer ago than this are deleted, hourly (0: kept forever)."""
        self.deleted = 0
        self._next_prune = 0.0
        self._conn = open_db(path, SCHEMA)
        self._migrate()
        self._read_lock = threading.Lock()
        self._cond = threading.Condition()
        self._pending: dict[str, Event] = {}
        self._max_pending = max_pending
        self._batch_every = batch_every
        self._closed = False
        self._busy = False
        self.written = 0
        self.dropped = 0
        """Event changes not stored because the writer fell ``max_pending`` behind."""
        self.errors = 0
        self.last_error: str | None = None
        self._interrupted: list[tuple[Event, Event]] = []
        self.interrupted = self._close_dangling()
        """How many events the previous run left open (ended at open)."""
        self._thread = threading.Thread(target=self._run, name="camhub-event-store", daemon=True)
        self._thread.start()

    @classmethod
    def open(cls, data_dir: Path, keep_days: float = 0.0) -> EventStore:
        """``data_dir/events.db``; a clear :class:`DataDirError` if either is unusable."""
        ensure_dir(data_dir)
        return cls(data_dir / "events.db", keep_days=keep_days)

    def _migrate(self) -> None:
        have = {str(r[1]) for r in self._conn.execute("PRAGMA table_info(events)")}
        for column, decl in _ADDED.items():
            if column not in have:
                self._conn.execute(f"ALTER TABLE events ADD COLUMN {column} {decl}")
        no_facets = self._conn.execute("SELECT 1 FROM facets LIMIT 1").fetchone() is None
        if no_facets and self._conn.execute("SELECT 1 FROM events LIMIT 1").fetchone():
            self._rebuild_facets()  # a database from before the facets table

    def _rebuild_facets(self) -> None:
        self._conn.execute("BEGIN")
        for statement in FACETS_REBUILD.strip().split(";\n"):
            self._conn.execute(statement.rstrip(";"))
        self._conn.execute("COMMIT")

    def _close_dangling(self) -> int:
        # Events the last run never ended (crash, kill, power cut): end them where they
        # were last seen, so no event stays "going on" forever. The event manager then
        # publishes their ends (take_interrupted), so that sinks hear of them too.
        rows = self._conn.execute(
            f'SELECT {_COLUMNS}, updated FROM events WHERE "end" IS NULL'
        ).fetchall()
        for row in rows:
            before = _row_event(row[:-1])
            after = before.copy()
            after.end = max(before.start, float(row[-1]))
            after.data["ended_by"] = INTERRUPTED
            self._interrupted.append((before, after))
        if rows:
            self._conn.execute("BEGIN")
            self._conn.executemany(
                'UPDATE events SET "end" = ?, data = ? WHERE id = ?',
                [(a.end, json.dumps(a.data, default=str), a.id) for _, a in self._interrupted],
            )
            self._conn.execute("COMMIT")
            log.info("ended %d event(s) left open by the previous run", len(rows))
        return len(rows)

    def take_interrupted(self) -> list[tuple[Event, Event]]:
        """``(before, after)`` of each event this store ended at open because the last
        run left it open; handed out once (the event manager publishes their ends)."""
        out, self._interrupted = self._interrupted, []
        return out

    # -- writing -------------------------------------------------------------------

    def save(self, event: Event) -> None:
        """Queue the event's current state for writing (never blocks on the disk)."""
        with self._cond:
            if self._closed:
                return
            if event.id not in self._pending and len(self._pending) >= self._max_pending:
                self.dropped += 1
                return
            self._pending[event.id] = event
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._busy = False
                    self._cond.notify_all()
                    self._cond.wait()
                if not self._pending:
                    self._busy = False
                    self._cond.notify_all()
                    return
                self._busy = True
            if not self._closed:
                time.sleep(self._batch_every)  # let a burst pile up into one commit
            with self._cond:
                batch, self._pending = list(self._pending.values()), {}
            self._write(batch)
            if self.keep_days > 0 and time.monotonic() >= self._next_prune:
                self._next_prune = time.monotonic() + 3600
                self.prune(time.time() - self.keep_days * 86400)

    def prune(self, before: float) -> int:
        """Delete events (and their snapshots) that ended before ``before``."""
        try:
            with self._read_lock:
                self._conn.execute("BEGIN")
                self._conn.execute(
                    'DELETE FROM snapshots WHERE id IN (SELECT id FROM events WHERE "end" < ?)',
                    (before,),
                )
                cur = self._conn.execute('DELETE FROM events WHERE "end" < ?', (before,))
                self._conn.execute("COMMIT")
                if cur.rowcount:  # a camera or label may be gone from the history
                    self._rebuild_facets()
        except sqlite3.Error as exc:
            with self._read_lock:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
            log.error("cannot delete old events from %s: %s", self.path, exc)
            return 0
        self.deleted += cur.rowcount
        return int(cur.rowcount)

    def _write(self, events: Iterable[Event]) -> None:
        now = time.time()
        rows, snaps = [], []
        batch = list(events)
        facets = facet_rows(batch)
        for e in batch:
            rows.append(
                (
                    e.id, e.camera, e.label, e.start, e.end, e.score, e.top_score,
                    None if e.box is None else json.dumps(list(e.box)),
                    json.dumps(e.zones), e.track_id, json.dumps(e.data, default=str),
                    1 if e.snapshot else 0, now,
                )
            )  # fmt: skip
            if e.snapshot:
                snaps.append((e.id, e.snapshot))
        try:
            with self._read_lock:
                self._conn.execute("BEGIN")
                self._conn.executemany(
                    f"INSERT INTO events ({_COLUMNS}, updated) VALUES "
                    "(?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET "
                    '"end"=excluded."end", score=excluded.score, top_score=excluded.top_score, '
                    "box=excluded.box, zones=excluded.zones, data=excluded.data, "
                    "has_snapshot=MAX(has_snapshot, excluded.has_snapshot), "
                    "updated=excluded.updated",
                    rows,
                )
                self._conn.executemany(
                    "INSERT OR REPLACE INTO snapshots (id, jpeg) VALUES (?, ?)", snaps
                )
                self._conn.executemany(
                    "INSERT OR IGNORE INTO facets (kind, value) VALUES (?, ?)", facets
                )
                self._conn.execute("COMMIT")
            self.written += len(rows)
        except sqlite3.Error as exc:
            self.errors += 1
            self.last_error = f"{exc}"
            with self._read_lock:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
            log.error("cannot write %d event(s) to %s: %s", len(rows), self.path, exc)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything saved so far is committed."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(10.0)
        with self._read_lock:
            self._conn.close()

    # -- reading -------------------------------------------------------------------

    def query(
        self,
        *,
        camera: str | None = None,
        label: str | Sequence[str] | None = None,
        after: float | None = None,
        before: float | None = None,
        limit: int = 100,
    ) -> list[Event]:
        """Newest first. ``label``: one, or any of several (a label and its old names).
        ``after``/``before`` select events that overlap that time."""
        where: list[str] = []
        args: list[object] = []
        if camera is not None:
            where.append("camera = ?")
            args.append(camera)
        if label is not None:
            labels = [label] if isinstance(label, str) else list(label)
            where.append(f"label IN ({', '.join('?' * len(labels))})" if labels else "0")
            args.extend(labels)
        if after is not None:
            where.append('("end" IS NULL OR "end" >= ?)')
            args.append(after)
        if before is not None:
            where.append("start <= ?")
            args.append(before)
        sql = f"SELECT {_COLUMNS} FROM events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY start DESC LIMIT ?"
        args.append(max(0, limit))
        with self._read_lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [_row_event(r) for r in rows]

    def page(self, flt: EventFilter, cursor: Cursor | None = None, limit: int = 50) -> EventPage:
        """One page of the events ``flt`` selects, newest first, from ``cursor`` on."""
        sql, args = page_sql(_COLUMNS, flt, cursor, limit)
        with self._read_lock:
            rows = self._conn.execute(sql, args).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        events = [_row_event(r[:-1]) for r in rows]
        reviewed = {e.id: float(r[-1]) for e, r in zip(events, rows, strict=True) if r[-1]}
        last = events[-1] if more and events else None
        return EventPage(events, reviewed, None if last is None else Cursor(last.start, last.id))

    def explain_page(self, flt: EventFilter, cursor: Cursor | None = None) -> list[str]:
        """SQLite's plan for :meth:`page` (benchmarks and tests check it uses an index)."""
        sql, args = page_sql(_COLUMNS, flt, cursor, 50)
        with self._read_lock:
            rows = self._conn.execute("EXPLAIN QUERY PLAN " + sql, args).fetchall()
        return [str(r[-1]) for r in rows]

    def facets(self) -> Facets:
        """Every camera, label and zone in the history, and its first and last event."""
        with self._read_lock:
            rows = self._conn.execute("SELECT kind, value FROM facets ORDER BY value").fetchall()
            # two queries: SQLite answers a lone MIN or MAX from the index, both at once by a scan
            first = self._conn.execute("SELECT MIN(start) FROM events").fetchone()[0]
            last = self._conn.execute("SELECT MAX(start) FROM events").fetchone()[0]
        by: dict[str, list[str]] = {"camera": [], "label": [], "zone": []}
        for kind, value in rows:
            by.setdefault(str(kind), []).append(str(value))
        return Facets(by["camera"], by["label"], by["zone"], first, last)

    def set_reviewed(self, ids: Sequence[str], reviewed: bool = True) -> int:
        """Mark events reviewed (now) or not; returns how many exist."""
        self.flush(2.0)  # an event still queued would be written without the mark
        at = time.time() if reviewed else None
        count = 0
        with self._read_lock:
            self._conn.execute("BEGIN")
            try:
                for chunk in range(0, len(ids), 500):
                    part = list(ids[chunk : chunk + 500])
                    marks = ", ".join("?" * len(part))
                    cur = self._conn.execute(
                        f"UPDATE events SET reviewed = ? WHERE id IN ({marks})", [at, *part]
                    )
                    count += cur.rowcount
                self._conn.execute("COMMIT")
            except sqlite3.Error:
                self._conn.execute("ROLLBACK")
                raise
        return count

    def get(self, event_id: str) -> Event | None:
        with self._cond:
            pending = self._pending.get(event_id)
        if pending is not None:
            return pending.copy()
        with self._read_lock:
            row = self._conn.execute(
                f"SELECT {_COLUMNS} FROM events WHERE id = ?", (event_id,)
            ).fetchone()
        return None if row is None else _row_event(row)

    def snapshot(self, event_id: str) -> bytes | None:
        with self._cond:
            pending = self._pending.get(event_id)
        if pending is not None and pending.snapshot:
            return pending.snapshot
        with self._read_lock:
            row = self._conn.execute(
                "SELECT jpeg FROM snapshots WHERE id = ?", (event_id,)
            ).fetchone()
        return None if row is None else bytes(row[0])

    def count(self) -> int:
        with self._read_lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def stats(self) -> EventStoreStats:
        return EventStoreStats(
            str(self.path), self.written, self.dropped, self.errors, self.last_error
        )


__all__ = ["DataDirError", "EventStore"]
