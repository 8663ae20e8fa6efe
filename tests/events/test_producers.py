"""Event producers with real parts: a real hub whose camera goes quiet and comes back,
and the motion processor run by a real ProcessorRunner on frames a real Sender sends."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest

import camhub
from camhub.bus import EventBus
from camhub.events import EventManager, EventUpdate, OfflineEvents
from camhub.processing import MotionProcessor, ProcessorRunner
from tests.conftest import wait_until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def wired() -> Iterator[tuple[camhub.Hub, EventBus, EventManager]]:
    hub = camhub.Hub("tcp://127.0.0.1:0", offline_after=0.6)
    manager = EventManager(hub.bus).start()
    offline = OfflineEvents(hub.bus, hub.store).start()
    hub.start()
    yield hub, hub.bus, manager
    hub.stop()  # closes the bus, and with it every subscription
    offline.stop()
    manager.stop()


def _scene(i: int, moving: bool) -> bytes:
    img = np.full((120, 160, 3), 60, np.uint8)
    if moving:
        x = 5 + (i * 9) % 120
        img[40:80, x : x + 30] = 240
    return camhub.encode_jpeg(img)


def test_camera_offline_then_online_is_one_offline_event(
    wired: tuple[camhub.Hub, EventBus, EventManager],
) -> None:
    hub, _bus, manager = wired
    got: list[EventUpdate] = []
    manager.add_listener(got.append)
    with camhub.Sender(hub.endpoint) as sender:
        for i in range(3):
            sender.send_jpeg("door", _scene(i, False))
        wait_until(lambda: [u.type for u in got] == ["new"], timeout=10)
        new = got[0].after
        assert new.label == "offline" and new.camera == "door" and new.end is None
        assert new.snapshot is not None  # the last frame before it went quiet
        assert [e.id for e in manager.active("door")] == [new.id]
        sender.send_jpeg("door", _scene(4, False))
        wait_until(lambda: len(got) == 2, timeout=10)
    end = got[1]
    assert end.type == "end" and end.after.id == new.id
    assert end.after.end is not None and end.after.end >= new.start
    assert manager.active() == []


def test_motion_processor_publishes_motion_events_through_the_runner(
    wired: tuple[camhub.Hub, EventBus, EventManager],
) -> None:
    hub, bus, manager = wired
    got: list[EventUpdate] = []
    manager.add_listener(got.append)
    # the runner publishes the processor's Result.events on the bus
    runner = ProcessorRunner(
        hub.store, MotionProcessor, options={"end_after": 0.5}, bus=bus
    ).start()
    try:
        with camhub.Sender(hub.endpoint) as sender:
            # still, then moving, then still again: one motion event
            for phase, count in ((False, 20), (True, 20), (False, 30)):
                for i in range(count):
                    sender.send_jpeg("yard", _scene(i, phase))
                    time.sleep(0.04)  # let the runner see (nearly) every frame
            wait_until(lambda: any(u.type == "end" for u in got), timeout=15)
    finally:
        runner.stop()
    motion = [u for u in got if u.after.label == "motion"]
    assert motion[0].type == "new" and motion[-1].type == "end"
    assert len({u.after.id for u in motion}) == 1
    end = motion[-1].after
    assert end.camera == "yard" and end.end is not None and end.end > end.start
    assert end.box is not None and end.snapshot is not None
    assert camhub.decode_jpeg(end.snapshot).shape == (120, 160, 3)


def test_motion_ends_when_the_camera_stops_sending(
    wired: tuple[camhub.Hub, EventBus, EventManager],
) -> None:
    hub, bus, manager = wired
    got: list[EventUpdate] = []
    manager.add_listener(got.append)
    runner = ProcessorRunner(
        hub.store, MotionProcessor, options={"end_after": 0.5}, bus=bus
    ).start()
    try:
        with camhub.Sender(hub.endpoint) as sender:
            for phase, count in ((False, 20), (True, 20)):
                for i in range(count):
                    sender.send_jpeg("yard", _scene(i, phase))
                    time.sleep(0.04)
            assert sender.flush(5)
        # no more frames: the worker's idle ticks end the motion, the store its offline
        # (either may come first: end_after 0.5 s and offline_after 0.6 s race)
        wait_until(
            lambda: (
                any(u.type == "end" and u.after.label == "motion" for u in got)
                and any(u.after.label == "offline" for u in got)
            ),
            timeout=10,
        )
    finally:
        runner.stop()
    motion = [u for u in got if u.after.label == "motion"]
    assert motion[0].type == "new" and motion[-1].type == "end"
    end = motion[-1].after
    assert end.end is not None and end.end <= time.time() - 0.4  # when last seen moving
    assert any(u.after.label == "offline" for u in got)


def test_an_offline_event_starts_when_the_outage_is_noticed(
    wired: tuple[camhub.Hub, EventBus, EventManager],
) -> None:
    hub, _bus, manager = wired
    got: list[EventUpdate] = []
    manager.add_listener(got.append)
    with camhub.Sender(hub.endpoint) as sender:
        for i in range(3):
            sender.send_jpeg("gate", _scene(i, False))
        wait_until(lambda: [u.type for u in got] == ["new"], timeout=10)
    last = hub.store.latest("gate")
    assert last is not None
    new = got[0].after
    # The last frame's time is kept; the event itself starts when the hub noticed.
    assert new.data["last_frame_at"] == last.received_at
    assert new.start - last.received_at >= hub.store.offline_after
    assert new.data["detail"].startswith("last frame at")  # type: ignore[union-attr]
