"""MQTT sink against a real mosquitto broker and a real paho subscriber."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from camhub.bus import EventBus
from camhub.events import EventManager
from camhub.events.model import Event, EventUpdate
from camhub.notify import MqttSettings, MqttSink
from camhub.types import HubEvent
from tests.conftest import MOSQUITTO, wait_until
from tests.servers.mosquitto import Broker, Subscriber

PEER = Path(__file__).parent / "mqtt_peer.py"


def settings(broker: Broker, **kw: object) -> MqttSettings:
    return MqttSettings.model_validate({"host": broker.host, "port": broker.port, **kw})


@pytest.fixture
def bus(bus: EventBus) -> Iterator[EventBus]:
    """A hub's bus has its event manager: the active counts come from there."""
    manager = EventManager(bus).start()
    try:
        yield bus
    finally:
        manager.stop()


@pytest.fixture
def sink(broker: Broker, bus: EventBus) -> Iterator[MqttSink]:
    s = MqttSink(settings(broker, qos=1))
    s.start(bus)
    try:
        wait_until(lambda: s.connected, 10)
        yield s
    finally:
        s.stop()


def motion(camera: str = "door", start: float | None = None, **kw: object) -> Event:
    return Event(camera=camera, label="motion", start=start or time.time(), **kw)  # type: ignore[arg-type]


def test_topics_and_payloads(
    sink: MqttSink, bus: EventBus, broker: Broker, subscriber: Subscriber, jpeg: bytes
) -> None:
    online = subscriber.wait_for("camhub/available")
    assert online.payload == b"online"

    bus.publish(HubEvent("camera_new", "door", time.time()))
    ev = motion(score=0.4, snapshot=jpeg)
    bus.publish(EventUpdate("new", ev.copy()))
    later = ev.copy()
    later.score = 0.9
    bus.publish(EventUpdate("update", later, before=ev.copy()))
    ended = later.copy()
    ended.end = ended.start + 3
    bus.publish(EventUpdate("end", ended, before=later))
    bus.publish(HubEvent("camera_offline", "door", time.time()))

    assert subscriber.wait_for("camhub/door/status", lambda m: m.payload == b"offline")
    # The count comes from the event manager, one bus hop after the event it counts.
    subscriber.wait_for("camhub/door/motion", lambda m: m.payload == b"0")
    status = [m.payload for m in subscriber.on("camhub/door/status")]
    assert status == [b"online", b"offline"]

    events = [json.loads(m.payload) for m in subscriber.on("camhub/events")]
    assert [e["type"] for e in events] == ["new", "update", "end"]
    assert events[0]["before"] == events[0]["after"]
    assert events[1]["before"]["score"] == 0.4 and events[1]["after"]["score"] == 0.9
    for e in events:
        assert e["after"]["id"] == ev.id
        assert e["after"]["camera"] == "door" and e["after"]["label"] == "motion"
        assert e["after"]["start_time"] == ev.start
        assert e["after"]["has_snapshot"] is True
    assert events[2]["after"]["end_time"] == ev.start + 3
    assert events[0]["after"]["end_time"] is None

    counts = [m.payload for m in subscriber.on("camhub/door/motion")]
    assert counts == [b"1", b"0"]
    snaps = subscriber.on("camhub/door/motion/snapshot")
    assert len(snaps) == 1 and snaps[0].payload == jpeg  # unchanged snapshot: sent once

    # A subscriber that comes later gets the retained state.
    late = Subscriber(broker, "camhub/#").wait_ready()
    try:
        snap = late.wait_for("camhub/door/motion/snapshot")
        assert snap.retain and snap.payload == jpeg
        assert late.wait_for("camhub/available").retain
        assert late.wait_for("camhub/door/status").payload == b"offline"
        assert late.wait_for("camhub/door/motion").payload == b"0"
    finally:
        late.close()
    assert sink.flush()
    stats = sink.stats()
    assert stats.sent == 8 and stats.dropped == 0  # 2 status, 3 events, 2 counts, 1 snapshot
    assert stats.connected


@MOSQUITTO
def test_broker_down_then_back(
    tmp_path: Path, bus: EventBus, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="camhub.notify.mqtt")
    # The broker keeps sessions across its restart, and the subscriber's session is
    # persistent: what the sink publishes after the restart reaches the subscriber even
    # if the sink reconnects before the subscriber does.
    broker = Broker(tmp_path, persistent=True).start()
    subscriber = Subscriber(broker, "camhub/#", persistent=True).wait_ready()
    sink = MqttSink(settings(broker, qos=1, retry_max=2)).start(bus)
    try:
        wait_until(lambda: sink.connected, 10)
        bus.publish(HubEvent("camera_new", "yard", time.time()))
        subscriber.wait_for("camhub/yard/status")

        broker.stop()
        wait_until(lambda: not sink.connected, 10)
        # Events while the broker is away wait in the sink's queue; ingest is unaffected.
        during = motion("yard")
        bus.publish(EventUpdate("new", during))
        wait_until(lambda: "unreachable since" in caplog.text, 10)
        assert "retrying in" in caplog.text and f"{broker.host}:{broker.port}" in caplog.text
        assert sink.stats().errors >= 1 and sink.stats().last_error
        assert sink.stats().sent == 1  # only the status before the outage

        subscriber.clear()
        broker.start()
        # Published live by the reconnected sink (a retained copy would have retain set).
        online = subscriber.wait_for(
            "camhub/available", lambda m: m.payload == b"online" and not m.retain, 20
        )
        assert online.payload == b"online"
        event = subscriber.wait_for("camhub/events")
        assert json.loads(event.payload)["after"]["id"] == during.id
        # State is republished on reconnect, since a broker may lose retained messages.
        status = subscriber.wait_for("camhub/yard/status", lambda m: not m.retain)
        assert status.payload == b"online"
        assert subscriber.wait_for("camhub/yard/motion", lambda m: not m.retain).payload == b"1"

        after = motion("yard")
        bus.publish(EventUpdate("new", after))
        subscriber.wait_for("camhub/events", lambda m: after.id in m.payload.decode())
        assert sink.connects >= 2 and sink.connected
        assert sink.stats().dropped == 0
    finally:
        sink.stop()
        subscriber.close()
        broker.stop()


def test_dead_broker_never_slows_ingest(broker: Broker, bus: EventBus) -> None:
    sink = MqttSink(settings(broker, queue_size=50)).start(bus)
    try:
        wait_until(lambda: sink.connected, 10)
        broker.stop()
        wait_until(lambda: not sink.connected, 10)
        for _ in range(2000):
            bus.publish(EventUpdate("new", motion("gate")))
        # The queue holds 50, so the rest were dropped and counted, not buffered.
        wait_until(lambda: sink.stats().dropped >= 2000 - 50 - 1, 5)
        assert sink.stats().pending <= 50
    finally:
        sink.stop()
    assert sink.stats().dropped >= 2000 - 1  # the queued ones are dropped at stop


def test_clean_stop_says_offline(broker: Broker, bus: EventBus, subscriber: Subscriber) -> None:
    sink = MqttSink(settings(broker)).start(bus)
    wait_until(lambda: sink.connected, 10)
    subscriber.wait_for("camhub/available", lambda m: m.payload == b"online")
    sink.stop()
    msg = subscriber.wait_for("camhub/available", lambda m: m.payload == b"offline")
    assert msg.payload == b"offline"


def test_last_will_when_hub_dies(broker: Broker, subscriber: Subscriber) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(PEER), broker.host, str(broker.port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("READY"), proc.stderr.read() if proc.stderr else line
        subscriber.wait_for("camhub/available", lambda m: m.payload == b"online")
        proc.send_signal(signal.SIGKILL)
        proc.wait(5)
        msg = subscriber.wait_for("camhub/available", lambda m: m.payload == b"offline")
        assert msg.payload == b"offline"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


def test_unreachable_broker_at_start_does_not_block(dead_port: int) -> None:
    # A bare bus: with an event manager on it, the manager's active count would reach the
    # sink sometimes before the stop and sometimes not, and the drop count with it.
    bus = EventBus()
    sink = MqttSink(MqttSettings(host="127.0.0.1", port=dead_port)).start(bus)
    try:
        bus.publish(EventUpdate("new", motion()))
        wait_until(lambda: sink.stats().errors >= 1, 10)
        stats = sink.stats()
        assert not stats.connected and stats.sent == 0
        assert "unreachable" in (stats.last_error or "")
    finally:
        sink.stop()
        bus.close()
    assert sink.stats().dropped == 1


def test_custom_prefix_and_label_topics(broker: Broker, bus: EventBus) -> None:
    sub = Subscriber(broker, "home/cams/#").wait_ready()
    sink = MqttSink(settings(broker, prefix="home/cams")).start(bus)
    try:
        person = Event(camera="back.door", label="person", start=time.time(), score=0.8)
        bus.publish(EventUpdate("new", person))
        bus.publish(EventUpdate("new", Event(camera="back.door", label="person", start=1.0)))
        sub.wait_for("home/cams/back.door/person", lambda m: m.payload == b"2")
        assert sub.wait_for("home/cams/available").payload == b"online"
        assert not sub.on("camhub/events")
        late = Subscriber(broker, "home/cams/back.door/person").wait_ready()
        retained = late.wait_for("home/cams/back.door/person")
        late.close()
        assert retained.retain and retained.payload == b"2"
    finally:
        sink.stop()
        sub.close()


def test_hub_event_kinds_without_a_topic_are_logged_once_and_skipped(
    sink: MqttSink, bus: EventBus, subscriber: Subscriber, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="camhub.notify.mqtt")
    now = time.time()
    bus.publish(HubEvent("camera_new", "door", now))
    bus.publish(HubEvent("camera_offline", "door", now))
    for _ in range(3):  # a kind the hub may grow later: never taken for "online"
        bus.publish(HubEvent("camera_renamed", "door", now))  # type: ignore[arg-type]
    bus.publish(HubEvent("malformed", None, now, "127.0.0.1: bad header"))
    bus.publish(HubEvent("camera_new", "yard", now))  # handled after all of the above
    subscriber.wait_for("camhub/yard/status")
    assert [m.payload for m in subscriber.on("camhub/door/status")] == [b"online", b"offline"]
    warned = [r for r in caplog.records if "camera_renamed" in r.getMessage()]
    assert len(warned) == 1 and "skipped" in warned[0].getMessage()
    assert sink.stats().errors == 0


def _leave_retained(broker: Broker, messages: dict[str, bytes]) -> None:
    """What an earlier hub that died left on the broker."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="old-hub")
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        for topic, payload in messages.items():
            client.publish(topic, payload, qos=1, retain=True).wait_for_publish(5)
    finally:
        client.disconnect()
        client.loop_stop()


def test_retained_state_left_by_an_earlier_run_is_corrected_on_connect(
    broker: Broker, bus: EventBus, subscriber: Subscriber
) -> None:
    _leave_retained(
        broker,
        {
            "camhub/door/status": b"online",  # a camera that never came back
            "camhub/door/offline": b"1",  # events the dead hub never ended
            "camhub/door/motion": b"1",
            "camhub/gate/status": b"offline",  # already true: left alone
            "camhub/gate/motion": b"0",
        },
    )
    subscriber.wait_for("camhub/gate/motion")
    subscriber.clear()
    sink = MqttSink(settings(broker)).start(bus)
    try:
        assert subscriber.wait_for("camhub/door/status").payload == b"offline"
        assert subscriber.wait_for("camhub/door/offline").payload == b"0"
        assert subscriber.wait_for("camhub/door/motion").payload == b"0"
        wait_until(lambda: sink.corrected == 3, 5)
        # A camera that streams in this run keeps its truth.
        bus.publish(HubEvent("camera_new", "door", time.time()))
        subscriber.wait_for("camhub/door/status", lambda m: m.payload == b"online")
        assert sink.flush()
    finally:
        sink.stop()
    assert not subscriber.on("camhub/gate/status") and not subscriber.on("camhub/gate/motion")
    assert sink.corrected == 3
    truth = {
        "camhub/door/offline": b"0",
        "camhub/door/motion": b"0",
        "camhub/door/status": b"online",
    }
    late = Subscriber(broker, "camhub/+/+").wait_ready()
    try:
        assert {t: late.wait_for(t).payload for t in truth} == truth
    finally:
        late.close()
