"""Keyset paging over the whole history, the filters' values from the data, and marks
of reviewed events, on the real SQLite event store."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from camhub.events import Event, EventStore
from camhub.events.paging import BadCursor, Cursor, EventFilter

LABELS = ["motion", "person", "car", "offline"]


def _fill(store: EventStore, count: int, t0: float = 1_000.0) -> list[Event]:
    events = []
    for chunk in range(0, count, 5000):
        for i in range(chunk, min(count, chunk + 5000)):
            e = Event(
                camera=f"cam{i % 8}",
                label=LABELS[i % 4],
                start=t0 + (i // 2) * 3.0,  # two events share each start: ties are paged too
                end=t0 + (i // 2) * 3.0 + 2.0,
                zones=["porch"] if i % 7 == 0 else [],
                score=0.9,
            )
            store.save(e)
            events.append(e)
        assert store.flush(120)
    return events


def test_100k_events_page_from_an_index(tmp_path: Path) -> None:
    store = EventStore.open(tmp_path)
    try:
        _fill(store, 100_000)
        assert store.count() == 100_000
        deep = store.page(EventFilter(), None, 1000).next
        assert deep is not None
        filters = [
            EventFilter(),
            EventFilter(camera="cam3"),
            EventFilter(labels=["person"]),
            EventFilter(camera="cam2", labels=["car"]),
            EventFilter(zone="porch"),
            EventFilter(reviewed=False),
        ]
        for flt in filters:
            for cursor in (None, deep):
                plan = store.explain_page(flt, cursor)
                # every filter walks an index in order: no scan of the table, no sort of it
                assert any("USING INDEX events_" in step for step in plan), (flt, plan)
                assert "SCAN events" not in plan, (flt, plan)  # a bare scan reads every row
                assert "USE TEMP B-TREE FOR ORDER BY" not in plan, (flt, plan)
            page = store.page(flt, deep, 50)
            assert len(page.events) == 50 and page.next is not None, flt
            assert all(e.start <= deep.start for e in page.events)
    finally:
        store.close()


def test_paging_visits_every_event_once_newest_first(tmp_path: Path) -> None:
    store = EventStore.open(tmp_path)
    try:
        made = _fill(store, 997)
        seen: list[Event] = []
        cursor: Cursor | None = None
        pages = 0
        while True:
            page = store.page(EventFilter(), cursor, 40)
            seen += page.events
            pages += 1
            cursor = page.next
            if cursor is None:
                break
            cursor = Cursor.parse(cursor.token())  # as the browser sends it back
        assert pages == 25 and len(page.events) == 997 - 24 * 40
        assert sorted(e.id for e in seen) == sorted(e.id for e in made)
        keys = [(e.start, e.id) for e in seen]
        assert keys == sorted(keys, reverse=True)
        porch = store.page(EventFilter(zone="porch", camera="cam0"), None, 1000).events
        assert porch and all("porch" in e.zones and e.camera == "cam0" for e in porch)
        assert len(porch) == sum(1 for e in made if "porch" in e.zones and e.camera == "cam0")
    finally:
        store.close()


def test_bad_cursors_are_refused() -> None:
    for token in ("", "nope", "1.5", "nan:x", "inf:x", "12:"):
        with pytest.raises(BadCursor):
            Cursor.parse(token)
    assert Cursor.parse("12.25:a:b") == Cursor(12.25, "a:b")


def test_facets_and_review_marks_survive_a_restart(tmp_path: Path) -> None:
    store = EventStore.open(tmp_path)
    a = Event(camera="porch", label="person", start=10.0, end=12.0, zones=["steps", "gate"])
    b = Event(camera="yard", label="motion", start=20.0, end=21.0)
    store.save(a)
    store.save(b)
    assert store.flush()
    assert store.set_reviewed([a.id, "no-such-event"]) == 1
    gone = Event(camera="porch", label="person", start=30.0, end=35.0)  # left the zone by its end
    gone.data["entered"] = [{"zone": "gate", "at": 31.0}, {"zone": "lawn", "at": 32.0}]
    store.save(gone)
    assert store.flush()
    found = [e.id for e in store.page(EventFilter(zone="gate")).events]
    assert found == [gone.id, a.id]  # once in it counts, as the zone filter says
    assert [e.id for e in store.page(EventFilter(zone="lawn")).events] == [gone.id]
    store.close()

    again = EventStore.open(tmp_path)
    try:
        f = again.facets()
        assert (f.cameras, f.labels, f.zones) == (
            ["porch", "yard"],
            ["motion", "person"],
            ["gate", "lawn", "steps"],  # lawn: only entered, left by the event's end
        )
        again._rebuild_facets()  # as after retention: the same, from the events themselves
        assert again.facets().zones == ["gate", "lawn", "steps"]
        assert (f.first, f.last) == (10.0, 30.0)
        page = again.page(EventFilter())
        assert set(page.reviewed) == {a.id}
        not_reviewed = [e.id for e in again.page(EventFilter(reviewed=False)).events]
        assert b.id in not_reviewed and a.id not in not_reviewed
        assert again.set_reviewed([a.id], reviewed=False) == 1
        assert again.page(EventFilter(reviewed=True)).events == []
        assert again.prune(40.0) == 3  # every event goes: so do their cameras, from the filters
        assert again.facets().cameras == []
    finally:
        again.close()


def test_an_older_database_gains_the_new_column_and_filters(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "events.db")
    conn.executescript(
        """CREATE TABLE events (id TEXT PRIMARY KEY, camera TEXT NOT NULL, label TEXT NOT NULL,
        start REAL NOT NULL, "end" REAL, score REAL, top_score REAL, box TEXT,
        zones TEXT NOT NULL DEFAULT '[]', track_id INTEGER, data TEXT NOT NULL DEFAULT '{}',
        has_snapshot INTEGER NOT NULL DEFAULT 0, updated REAL NOT NULL);
        INSERT INTO events (id, camera, label, start, "end", zones, updated)
        VALUES ('old-1', 'shed', 'cat', 5.0, 6.0, '["lawn"]', 6.0);"""
    )
    conn.commit()
    conn.close()
    store = EventStore.open(tmp_path)
    try:
        f = store.facets()
        assert (f.cameras, f.labels, f.zones) == (["shed"], ["cat"], ["lawn"])
        assert store.set_reviewed(["old-1"]) == 1
        assert set(store.page(EventFilter()).reviewed) == {"old-1"}
    finally:
        store.close()
