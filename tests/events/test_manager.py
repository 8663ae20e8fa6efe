"""The event manager: active counts, and the ends it makes at stop and after a crash go
out on the bus like any other (real bus, real SQLite store)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from camhub.bus import EventBus
from camhub.events import ActiveCount, Event, EventManager, EventStore, EventUpdate


class Watcher:
    """Another subscriber of the bus, as a sink is."""

    def __init__(self, bus: EventBus) -> None:
        self.updates: list[EventUpdate] = []
        self.counts: list[ActiveCount] = []
        self.sub = bus.subscribe(self._got, name="watcher", kinds=(EventUpdate, ActiveCount))

    def _got(self, message: object) -> None:
        if isinstance(message, ActiveCount):
            self.counts.append(message)
        else:
            assert isinstance(message, EventUpdate)
            self.updates.append(message)


@pytest.fixture
def bus() -> Iterator[EventBus]:
    b = EventBus()
    yield b
    b.close()


def test_counts_are_published_when_they_change(bus: EventBus) -> None:
    manager = EventManager(bus).start()
    watcher = Watcher(bus)
    a = Event(camera="door", label="motion", start=1.0)
    b = Event(camera="door", label="motion", start=2.0)
    p = Event(camera="door", label="person", start=3.0)
    bus.publish(EventUpdate("new", a.copy()))
    bus.publish(EventUpdate("new", b.copy()))
    bus.publish(EventUpdate("update", b.copy(), b.copy()))  # no change in count
    bus.publish(EventUpdate("new", p.copy()))
    a.end = 5.0
    bus.publish(EventUpdate("end", a.copy()))
    b.end = 6.0
    bus.publish(EventUpdate("end", b.copy()))
    assert manager.flush() and watcher.sub.flush()
    motion = [c.active for c in watcher.counts if c.label == "motion"]
    assert motion == [1, 2, 1, 0]
    assert [c.active for c in watcher.counts if c.label == "person"] == [1]
    assert manager.counts() == {("door", "motion"): 0, ("door", "person"): 1}
    assert [e.id for e in manager.active()] == [p.id]
    manager.stop()


def test_ends_at_stop_go_out_once(bus: EventBus, tmp_path: Path) -> None:
    store = EventStore.open(tmp_path)
    manager = EventManager(bus, store).start()
    watcher = Watcher(bus)
    heard: list[EventUpdate] = []
    manager.add_listener(heard.append)  # the event stream's way in
    event = Event(camera="yard", label="offline", start=100.0)
    bus.publish(EventUpdate("new", event.copy()))
    assert manager.flush()
    ended = manager.end_active(at=150.0)
    assert manager.flush() and watcher.sub.flush()
    assert [u.type for u in watcher.updates] == ["new", "end"]
    end = watcher.updates[1]
    assert end.after.id == event.id and end.after.end == 150.0
    assert end.after.data["ended_by"] == "hub stopped" and end.before is not None
    assert end.before.end is None
    assert [u.type for u in heard] == ["new", "end"]  # applied once, not again off the bus
    assert [c.active for c in watcher.counts] == [1, 0]
    assert ended == [end.after] and manager.active() == [] and manager.seen == 2
    manager.stop()
    store.close()


def test_events_a_dead_hub_left_open_end_through_the_bus(bus: EventBus, tmp_path: Path) -> None:
    store = EventStore.open(tmp_path)
    left = Event(camera="door", label="motion", start=100.0, snapshot=b"\xff\xd8jpeg")
    done = Event(camera="door", label="offline", start=50.0, end=60.0)
    store.save(left)
    store.save(done)
    assert store.flush()
    store.close()  # and the hub dies without ending `left`

    again = EventStore.open(tmp_path)
    watcher = Watcher(bus)  # the sinks start before the manager
    manager = EventManager(bus, again).start()
    assert manager.flush() and watcher.sub.flush()
    assert [(u.type, u.after.id) for u in watcher.updates] == [("end", left.id)]
    end = watcher.updates[0]
    assert end.before is not None and end.before.end is None
    assert end.after.end is not None and end.after.end >= 100.0
    assert end.after.data["ended_by"] == "hub interrupted"
    # The truth for what a sink may still hold from the last run: nothing going on.
    assert [(c.camera, c.label, c.active) for c in watcher.counts] == [("door", "motion", 0)]
    assert manager.stats().ended_at_start == 1
    stored = again.get(left.id)
    assert stored is not None and stored.end == end.after.end
    assert stored.data["ended_by"] == "hub interrupted"
    assert again.snapshot(left.id) == b"\xff\xd8jpeg"  # the end kept its snapshot
    manager.stop()
    again.close()

    third = EventStore.open(tmp_path)  # told once: nothing left open now
    try:
        assert third.interrupted == 0 and third.take_interrupted() == []
    finally:
        third.close()
