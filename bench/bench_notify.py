#!/usr/bin/env python3
"""Event latency to MQTT: from the frame that triggers an event to the message a real
subscriber receives (issue 10's "Home Assistant gets the event within a second").

A real sender streams 640x480 JPEGs at 30 fps to a real hub (both in this process, on
127.0.0.1); a trigger thread, in the place a motion processor would be, turns every
10th received frame into an ``EventUpdate("new")`` on the event bus; the MQTT sink
publishes it to a real mosquitto broker; a real paho subscriber (another client of the
same broker, in this process) stamps each ``camhub/events`` message on arrival.

Then the same with real motion: a box moving into still frames, detected by the hub's
``motion`` processor (which confirms motion over 3 frames before it starts an event), N/10
events (at least 5).

Figures (milliseconds, p50/p95/max over N events):
- from the hub's receive stamp of the triggering frame (``frame.received_at``);
- from the sender's capture stamp (``frame.captured_at``; same clock), so the ZeroMQ
  hop is included.
Baseline in the same run: a bare paho client publishing the same JSON size straight to
the broker at the same rate (broker round trip only); the ratio is camhub / bare paho.

A second table: hub ingest (frames/s) from an unthrottled sender with an event per frame
(thousands per second, far beyond any real scene), with no sink, with the MQTT sink's
broker up and with it dead; plus the broker up at one event per 100 frames. The sender,
hub, sink and subscriber share one Python process, so this shows GIL contention too.

    python bench/bench_notify.py [--events 200] [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from bench.common import (  # noqa: E402
    camhub_jpeg,
    machine_description,
    percentile,
    print_table,
    ratio,
    test_frame,
)
from camhub import Hub, Sender  # noqa: E402
from camhub.bus import EventBus  # noqa: E402
from camhub.events.model import Event, EventUpdate  # noqa: E402
from camhub.notify import MqttSettings, MqttSink  # noqa: E402
from tests.servers.mosquitto import Broker, Subscriber  # noqa: E402
from tests.servers.ports import free_port  # noqa: E402

FPS = 30
EVERY = 10
CAMERA = "bench-cam"


def stream(endpoint: str, stop: threading.Event, fps: float = FPS) -> None:
    jpeg = camhub_jpeg(test_frame())
    period = 1 / fps
    with Sender(endpoint) as sender:
        next_at = time.monotonic()
        while not stop.is_set():
            sender.send_jpeg(CAMERA, jpeg, captured_at=time.time())
            next_at += period
            stop.wait(max(0.0, next_at - time.monotonic()))


def camhub_latency(broker: Broker, events: int, qos: int) -> tuple[list[float], list[float]]:
    """Latencies (ms) from receive stamp and from capture stamp, one pair per event."""
    sub = Subscriber(broker, "camhub/events").wait_ready()
    bus = EventBus()
    sink = MqttSink(MqttSettings(host=broker.host, port=broker.port, qos=qos)).start(bus)
    fired: dict[str, tuple[float, float]] = {}
    stop = threading.Event()
    with Hub("tcp://127.0.0.1:0") as hub:
        deadline = time.monotonic() + 10
        while not sink.connected and time.monotonic() < deadline:
            time.sleep(0.02)
        sender = threading.Thread(target=stream, args=(hub.endpoints[0], stop), daemon=True)
        sender.start()
        count = 0
        while len(fired) < events:
            got = hub.wait_newer(CAMERA, count, 5.0)
            if got is None:
                raise RuntimeError("the sender stopped sending")
            frame, count = got
            if count % EVERY:
                continue
            ev = Event(camera=CAMERA, label="motion", start=frame.received_at)
            fired[ev.id] = (frame.received_at, frame.captured_at or frame.received_at)
            bus.publish(EventUpdate("new", ev))
        stop.set()
        sender.join(5)
    deadline = time.monotonic() + 10
    while len(sub.on("camhub/events")) < events and time.monotonic() < deadline:
        time.sleep(0.05)
    from_recv, from_capture = [], []
    for m in sub.on("camhub/events"):
        ev_id = json.loads(m.payload)["after"]["id"]
        if ev_id in fired:
            received_at, captured_at = fired[ev_id]
            from_recv.append((m.at - received_at) * 1000)
            from_capture.append((m.at - captured_at) * 1000)
    sink.stop()
    bus.close()
    sub.close()
    return from_recv, from_capture


def motion_stream(endpoint: str, stop: threading.Event, starts: list[float]) -> None:
    """Still frames, then a bright box moving across for 12 frames, over and over;
    ``starts`` gets the capture time of each cycle's first moving frame."""
    import numpy as np

    still = test_frame()
    still_jpeg = camhub_jpeg(still)
    moving = []
    for i in range(12):
        img = still.copy()
        x = 60 + i * 30
        img[150:330, x : x + 120] = 255
        moving.append(camhub_jpeg(np.ascontiguousarray(img)))
    period = 1 / FPS
    with Sender(endpoint) as sender:
        next_at = time.monotonic()
        frame = 0
        while not stop.is_set():
            phase = frame % 40  # 28 still frames (~0.9 s), then 12 moving (0.4 s)
            captured_at = time.time()
            if phase == 28:
                starts.append(captured_at)
            jpeg = moving[phase - 28] if phase >= 28 else still_jpeg
            sender.send_jpeg(CAMERA, jpeg, captured_at=captured_at)
            frame += 1
            next_at += period
            stop.wait(max(0.0, next_at - time.monotonic()))


def motion_latency(broker: Broker, events: int) -> tuple[list[float], list[float]]:
    """Real motion: sender -> hub -> motion processor (3 frames to confirm) -> bus ->
    MQTT sink -> broker -> subscriber. Latencies (ms) from the hub's receive stamp of the
    first moving frame (the event's start) and from its capture stamp at the sender."""
    sub = Subscriber(broker, "camhub/events").wait_ready()
    starts: list[float] = []
    stop = threading.Event()
    news = []
    with Hub("tcp://127.0.0.1:0") as hub:
        sink = MqttSink(MqttSettings(host=broker.host, port=broker.port)).start(hub.bus)
        hub.add_processor("motion", end_after=0.3, warmup=10)
        sender = threading.Thread(
            target=motion_stream, args=(hub.endpoints[0], stop, starts), daemon=True
        )
        sender.start()
        deadline = time.monotonic() + events * 2.5 + 20
        while time.monotonic() < deadline:
            news = [
                (m, json.loads(m.payload)["after"])
                for m in sub.on("camhub/events")
                if json.loads(m.payload)["type"] == "new"
            ]
            if len(news) >= events:
                break
            time.sleep(0.1)
        stop.set()
        sender.join(5)
        sink.stop()
    sub.close()
    from_start, from_capture = [], []
    for m, after in news[:events]:
        from_start.append((m.at - after["start"]) * 1000)
        before = [t for t in starts if t <= after["start"]]
        if before:
            from_capture.append((m.at - before[-1]) * 1000)
    return from_start, from_capture


def paho_latency(broker: Broker, events: int, qos: int) -> list[float]:
    """Bare paho: publish a same-sized JSON at the same rate; the broker round trip."""
    sub = Subscriber(broker, "bare/events").wait_ready()
    pub = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="bench-bare")
    pub.connect(broker.host, broker.port)
    pub.loop_start()
    size = len(EventUpdate("new", Event(camera=CAMERA, label="motion", start=0.0)).json)
    sent: dict[str, float] = {}
    for i in range(events):
        key = f"{i:08d}"
        body = json.dumps({"id": key, "pad": "x" * max(0, size - 30)})
        sent[key] = time.time()
        pub.publish("bare/events", body, qos=qos)
        time.sleep(EVERY / FPS)
    deadline = time.monotonic() + 10
    while len(sub.on("bare/events")) < events and time.monotonic() < deadline:
        time.sleep(0.05)
    out = [(m.at - sent[json.loads(m.payload)["id"]]) * 1000 for m in sub.on("bare/events")]
    pub.disconnect()
    pub.loop_stop()
    sub.close()
    return out


def ingest_rate(
    seconds: float, broker: Broker | None, dead: bool, every: int = 1
) -> tuple[float, int]:
    """Frames/s the hub takes in from an unthrottled sender (in this process) while an
    event is published for every ``every``-th frame; with ``broker`` an MQTT sink
    publishes them there, with ``dead`` an MQTT sink points at a port nobody serves."""
    bus = EventBus()
    sink = None
    if broker is not None or dead:
        host, port = ("127.0.0.1", free_port()) if broker is None else (broker.host, broker.port)
        sink = MqttSink(MqttSettings(host=host, port=port, queue_size=256)).start(bus)
        deadline = time.monotonic() + 10
        while broker is not None and not sink.connected and time.monotonic() < deadline:
            time.sleep(0.02)
    stop = threading.Event()
    with Hub("tcp://127.0.0.1:0") as hub:
        sender = threading.Thread(target=stream, args=(hub.endpoints[0], stop, 10_000), daemon=True)
        sender.start()
        count = 0
        started = time.monotonic()
        first = None
        while time.monotonic() - started < seconds:
            got = hub.wait_newer(CAMERA, count, 5.0)
            if got is None:
                break
            _, count = got
            first = first if first is not None else (count, time.monotonic())
            if count % every == 0:
                bus.publish(EventUpdate("new", Event(camera=CAMERA, label="motion", start=1.0)))
        stop.set()
        sender.join(5)
        assert first is not None
        rate = (count - first[0]) / (time.monotonic() - first[1])
    dropped = sink.stats().dropped if sink is not None else 0
    if sink is not None:
        sink.stop()
    bus.close()
    return rate, dropped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200, help="events per variant")
    parser.add_argument("--quick", action="store_true", help="30 events, short ingest runs")
    args = parser.parse_args()
    events = 30 if args.quick else args.events
    seconds = 2.0 if args.quick else 6.0
    print(f"machine: {machine_description()}")
    print(f"{events} events, one per {EVERY} frames of a {FPS} fps 640x480 camera")
    with tempfile.TemporaryDirectory() as tmp:
        broker = Broker(Path(tmp)).start()
        try:
            rows = []
            for qos in (0, 1):
                base = paho_latency(broker, events, qos)
                recv, capture = camhub_latency(broker, events, qos)
                b50 = percentile(base, 50)
                rows.append(
                    [f"bare paho publish, QoS {qos} (baseline)", len(base), b50,
                     percentile(base, 95), max(base, default=float("nan")), "1.00x"]
                )  # fmt: skip
                rows.append(
                    [f"camhub, frame received -> subscriber, QoS {qos}", len(recv),
                     percentile(recv, 50), percentile(recv, 95),
                     max(recv, default=float("nan")), ratio(percentile(recv, 50), b50)]
                )  # fmt: skip
                rows.append(
                    [f"camhub, frame captured -> subscriber, QoS {qos}", len(capture),
                     percentile(capture, 50), percentile(capture, 95),
                     max(capture, default=float("nan")), ratio(percentile(capture, 50), b50)]
                )  # fmt: skip
            motion_n = max(5, events // 10)
            start, capture = motion_latency(broker, motion_n)
            rows.append(
                ["real motion: first moving frame received -> subscriber, QoS 0", len(start),
                 percentile(start, 50), percentile(start, 95), max(start, default=float("nan")),
                 "n/a"]
            )  # fmt: skip
            rows.append(
                ["real motion: first moving frame captured -> subscriber, QoS 0", len(capture),
                 percentile(capture, 50), percentile(capture, 95),
                 max(capture, default=float("nan")), "n/a"]
            )  # fmt: skip
            print_table(
                "Event latency to a real MQTT subscriber (ms)",
                ["path", "events", "p50", "p95", "max", "p50 vs baseline"],
                rows,
            )
            free_rate, _ = ingest_rate(seconds, None, dead=False)
            live_rate, live_dropped = ingest_rate(seconds, broker, dead=False)
            live10_rate, live10_dropped = ingest_rate(seconds, broker, dead=False, every=100)
        finally:
            broker.stop()
    dead_rate, dead_dropped = ingest_rate(seconds, None, dead=True)
    print_table(
        "Hub ingest, unthrottled sender, an event per frame (a storm)",
        ["variant", "frames/s", "events dropped by the sink", "vs no sink"],
        [
            ["no sink", free_rate, 0, "1.00x"],
            ["MQTT sink, broker up", live_rate, live_dropped, ratio(live_rate, free_rate)],
            ["MQTT sink, broker dead", dead_rate, dead_dropped, ratio(dead_rate, free_rate)],
            ["MQTT sink, broker up, 1 event per 100 frames", live10_rate, live10_dropped,
             ratio(live10_rate, free_rate)],
        ],
    )  # fmt: skip


if __name__ == "__main__":
    main()
