"""The SQLite event store: batched writes, survives a restart, clear errors for bad files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from camhub.bus import EventBus
from camhub.datadir import DataDirError, default_data_dir
from camhub.events import Event, EventManager, EventStore, EventUpdate


def test_events_survive_a_restart(tmp_path: Path) -> None:
    store = EventStore.open(tmp_path)
    bus = EventBus()
    manager = EventManager(bus, store).start()
    a = Event(camera="door", label="motion", start=100.0, snapshot=b"\xff\xd8a", box=(1, 2, 3, 4))
    b = Event(camera="yard", label="offline", start=200.0)
    bus.publish(EventUpdate("new", a.copy()))
    bus.publish(EventUpdate("new", b.copy()))
    a.end, a.top_score = 110.0, 0.7
    bus.publish(EventUpdate("end", a.copy()))
    assert manager.flush()
    manager.stop()
    store.close()

    again = EventStore.open(tmp_path)
    try:
        assert again.interrupted == 1  # b never ended: closed where it was last seen
        got = {e.id: e for e in again.query()}
        assert got[a.id].end == 110.0 and got[a.id].top_score == 0.7
        assert got[a.id].box == (1, 2, 3, 4)
        assert again.snapshot(a.id) == b"\xff\xd8a"
        assert again.snapshot(b.id) is None
        assert got[b.id].end is not None
        assert [e.id for e in again.query(camera="yard")] == [b.id]
        assert [e.id for e in again.query(label="motion")] == [a.id]
        assert [e.id for e in again.query(after=150.0)] == [b.id]
        assert [e.id for e in again.query(before=150.0)] == [a.id]
        assert [e.id for e in again.query(limit=1)] == [b.id]  # newest first
        assert again.get("nope") is None
    finally:
        again.close()


def test_a_burst_is_written_in_few_transactions(tmp_path: Path) -> None:
    store = EventStore.open(tmp_path)
    try:
        events = [Event(camera="c", label="motion", start=float(i)) for i in range(500)]
        for e in events:
            store.save(e)
        assert store.flush(10)
        assert store.count() == 500
    finally:
        store.close()


def test_corrupt_database_is_a_clear_startup_error(tmp_path: Path) -> None:
    (tmp_path / "events.db").write_bytes(b"this is not a database, " * 100)
    with pytest.raises(DataDirError, match=r"events\.db.*damaged or not a camhub database"):
        EventStore.open(tmp_path)


def test_unwritable_data_dir_is_a_clear_startup_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # Root writes past permission bits (CI runs as root), but not into /proc.
        with pytest.raises(DataDirError, match=r"/proc/1.*not writable"):
            EventStore.open(Path("/proc/1"))
        with pytest.raises(DataDirError, match=r"cannot create data directory.*sub"):
            EventStore.open(Path("/proc/1/sub"))
        return
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(DataDirError, match=r"locked.*not writable"):
            EventStore.open(locked)
        with pytest.raises(DataDirError, match=r"cannot create data directory.*sub"):
            EventStore.open(locked / "sub")
    finally:
        locked.chmod(0o700)


def test_data_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(DataDirError, match="file"):
        EventStore.open(afile)
    with pytest.raises(DataDirError, match=r"cannot create data directory .*file/sub"):
        EventStore.open(afile / "sub")


def test_default_data_dir_follows_xdg(tmp_path: Path) -> None:
    code = "from camhub.datadir import default_data_dir; print(default_data_dir())"
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == str(tmp_path / "camhub")
    assert default_data_dir().name == "camhub"


def test_events_going_on_when_the_hub_stops_are_ended(tmp_path: Path) -> None:
    store = EventStore.open(tmp_path)
    bus = EventBus()
    manager = EventManager(bus, store).start()
    event = Event(camera="door", label="motion", start=100.0)
    bus.publish(EventUpdate("new", event.copy()))
    assert manager.flush()
    manager.stop()
    ended = manager.end_active(at=150.0)
    store.close()
    assert [e.id for e in ended] == [event.id]
    again = EventStore.open(tmp_path)
    try:
        got = again.get(event.id)
        assert got is not None and got.end == 150.0 and got.data["ended_by"] == "hub stopped"
        assert again.interrupted == 0
    finally:
        again.close()


def test_old_events_are_pruned_with_their_snapshots(tmp_path: Path) -> None:
    store = EventStore.open(tmp_path, keep_days=1)
    try:
        old = Event(camera="c", label="motion", start=10.0, end=20.0, snapshot=b"old")
        new = Event(camera="c", label="motion", start=1e12, end=None, snapshot=b"new")
        store.save(old)
        store.save(new)
        assert store.flush()
        assert store.count() == 1  # the writer pruned after its first batch
        assert store.get(old.id) is None and store.snapshot(old.id) is None
        assert store.snapshot(new.id) == b"new" and store.deleted == 1
    finally:
        store.close()
