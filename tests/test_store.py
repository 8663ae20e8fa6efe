"""The camera store: one ingest entry for every path, per-frame subscriptions that never
hold up ingest, and cameras known before their first frame."""

from __future__ import annotations

import threading
import time

from camhub.bus import EventBus
from camhub.store import CameraStore
from camhub.types import Frame, HubEvent


def _frame(name: str, seq: int) -> Frame:
    return Frame(name, jpeg=b"\xff\xd8fake", seq=seq, width=4, height=4)


def test_subscription_gets_every_frame_in_order() -> None:
    store = CameraStore()
    sub = store.subscribe(cameras=["a"], maxsize=100, name="rec")
    for i in range(50):
        store.put(_frame("a", i), "peer")
        store.put(_frame("b", i), "peer")
    got = [sub.get(1) for _ in range(50)]
    assert [f.seq for f in got if f is not None] == list(range(50))
    assert sub.get(0.05) is None
    assert sub.dropped == 0 and sub.delivered == 50
    store.stop()


def test_slow_subscriber_drops_oldest_counts_and_never_blocks_put() -> None:
    store = CameraStore()
    sub = store.subscribe(maxsize=8)
    for i in range(10_000):  # nobody reads the queue; a put that waited would hang here
        store.put(_frame("cam", i), "peer")
    assert sub.dropped == 10_000 - 8
    assert [sub.get(0).seq for _ in range(8)] == list(range(9992, 10_000))  # type: ignore[union-attr]
    stats = store.camera_stats("cam")
    assert stats is not None and stats.frames == 10_000
    store.stop()


def test_closed_subscription_wakes_its_reader_and_stops_receiving() -> None:
    store = CameraStore()
    sub = store.subscribe()
    got: list[object] = []
    reader = threading.Thread(target=lambda: got.append(sub.get(10)))
    reader.start()
    time.sleep(0.05)
    sub.close()
    reader.join(2)
    assert not reader.is_alive() and got == [None]
    store.put(_frame("cam", 1), "peer")
    assert sub.pending == 0 and store.subscriptions() == []


def test_declared_camera_is_listed_with_its_reason_until_it_streams() -> None:
    bus = EventBus()
    events: list[HubEvent] = []
    listener = bus.subscribe(events.append, kinds=(HubEvent,))
    store = CameraStore(bus)
    store.declare("porch", source="ipwebcam://192.0.2.1")
    store.set_reason("porch", "connection refused: is the camera app running?")
    (stats,) = store.stats()
    assert (stats.name, stats.online, stats.frames) == ("porch", False, 0)
    assert stats.source == "ipwebcam://192.0.2.1"
    assert stats.reason == "connection refused: is the camera app running?"
    store.put(_frame("porch", 1), "pull")
    (stats,) = store.stats()
    assert stats.online and stats.frames == 1 and stats.reason is None
    assert listener.flush()
    assert [e.kind for e in events] == ["camera_new"]
    store.stop()
    bus.close()


def test_offline_and_online_events_come_from_the_store() -> None:
    bus = EventBus()
    events: list[HubEvent] = []
    listener = bus.subscribe(events.append, kinds=(HubEvent,))
    store = CameraStore(bus, offline_after=0.2).start()
    store.put(_frame("cam", 1), "peer")
    deadline = time.monotonic() + 5
    while not any(e.kind == "camera_offline" for e in events):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    store.put(_frame("cam", 2), "peer")
    assert listener.flush()
    assert [e.kind for e in events] == ["camera_new", "camera_offline", "camera_online"]
    store.stop()
    bus.close()


def test_offline_is_decided_by_the_time_since_the_last_frame() -> None:
    # No watch thread: the test says what time it is.
    bus = EventBus()
    events: list[HubEvent] = []
    listener = bus.subscribe(events.append, kinds=(HubEvent,))
    store = CameraStore(bus, offline_after=5.0)
    store.put(_frame("cam", 1), "peer")
    seen = store.camera_stats("cam")
    assert seen is not None
    store.check_offline(now=seen.last_seen + 4.9)
    store.check_offline(now=seen.last_seen + 5.1)
    store.check_offline(now=seen.last_seen + 60)  # told once
    assert listener.flush()
    assert [e.kind for e in events] == ["camera_new", "camera_offline"]
    stats = store.camera_stats("cam")
    assert stats is not None and not stats.online
    bus.close()


def test_malformed_frames_count_only_against_known_cameras() -> None:
    store = CameraStore()
    store.put(_frame("a", 0), "peer")
    store.declare("b")
    assert store.count_malformed("a") and store.count_malformed("a")
    assert store.count_malformed("b")
    assert not store.count_malformed("nobody")
    a, b = store.camera_stats("a"), store.camera_stats("b")
    assert a is not None and (a.malformed, a.frames) == (2, 1)
    assert b is not None and b.malformed == 1
    assert store.camera_names() == ["a", "b"]
    store.stop()
