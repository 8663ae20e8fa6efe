"""The event bus never blocks a publisher, and a slow or broken subscriber hurts only itself."""

from __future__ import annotations

import threading

from camhub.bus import EventBus
from camhub.events import Event, EventUpdate
from camhub.types import HubEvent


def test_delivers_by_kind_in_order() -> None:
    bus = EventBus()
    got: list[object] = []
    sub = bus.subscribe(got.append, name="hub-only", kinds=(HubEvent,))
    ev = Event(camera="cam", label="motion", start=1.0)
    bus.publish(HubEvent("camera_new", "a", 1.0))
    bus.publish(EventUpdate("new", ev))
    bus.publish(HubEvent("camera_offline", "a", 2.0))
    assert sub.flush()
    assert [m.kind for m in got] == ["camera_new", "camera_offline"]  # type: ignore[attr-defined]
    bus.close()


def test_slow_subscriber_drops_oldest_and_never_blocks_publisher() -> None:
    bus = EventBus()
    release = threading.Event()
    slow: list[int] = []
    fast: list[int] = []

    def slow_handler(m: int) -> None:
        release.wait(60)
        slow.append(m)

    slow_sub = bus.subscribe(slow_handler, name="slow", maxsize=10)
    fast_sub = bus.subscribe(fast.append, name="fast", maxsize=1000)
    for i in range(500):  # a publish that waited for the slow handler would hang here
        bus.publish(i)
    assert slow == []  # the slow one still holds the first message: nobody waited on it
    assert fast_sub.flush()
    assert fast == list(range(500))
    release.set()
    assert slow_sub.flush()
    # The first message was already being handled; then only the newest 10 survived.
    assert slow[-10:] == list(range(490, 500))
    assert slow_sub.dropped == 500 - len(slow)
    bus.close()


def test_handler_errors_are_counted_and_do_not_stop_delivery() -> None:
    bus = EventBus()
    got: list[int] = []

    def flaky(m: int) -> None:
        if m % 2:
            raise RuntimeError("sink bug")
        got.append(m)

    sub = bus.subscribe(flaky, name="flaky")
    for i in range(6):
        bus.publish(i)
    assert sub.flush()
    assert got == [0, 2, 4]
    assert sub.errors == 3
    sub.close()
    assert bus.subscriptions() == []
