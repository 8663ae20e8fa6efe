"""Events stay true across a stop and a crash: a real hub process (motion processor,
offline watch, MQTT, a webhook, the event stream), real senders, a real mosquitto and a
real subscriber. Every event still going on when the hub stops (SIGTERM) or dies
(SIGKILL) ends with an ``end`` that reaches every output, and the retained MQTT state is
true again after the restart."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

import camhub
from tests.cli_proc import Proc
from tests.conftest import wait_until
from tests.servers.mosquitto import Broker, Subscriber
from tests.servers.webhook_target import Target

pytestmark = pytest.mark.timeout(150)


def _frame(i: int, moving: bool) -> bytes:
    img = np.full((120, 160, 3), 60, np.uint8)
    if moving:
        x = 5 + (i * 9) % 120
        img[40:80, x : x + 30] = 240
    return camhub.encode_jpeg(img)


class Yard:
    """A camera that keeps sending a moving box (a motion event that never ends)."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            with camhub.Sender(self.endpoint) as sender:
                i = 0
                while not self.stop.wait(1 / 15):
                    sender.send_jpeg("yard", _frame(i, True))
                    i += 1
        except camhub.CamhubError:
            pass  # the hub went away under it

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)


class Stream:
    """The dashboard's event stream, read by a client: ``(type, data bytes)`` per event."""

    def __init__(self, url: str) -> None:
        self.got: list[tuple[str, bytes]] = []
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(url,), daemon=True)
        self.thread.start()
        assert self.ready.wait(10)

    def _run(self, url: str) -> None:
        kind = ""
        try:
            with httpx.stream("GET", url + "api/events/stream", timeout=30) as resp:
                self.ready.set()
                for line in resp.iter_lines():
                    if line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: "):
                        self.got.append((kind, line[6:].encode()))
        except httpx.HTTPError:
            pass  # the hub was killed

    def ends(self) -> dict[str, bytes]:
        return {json.loads(d)["after"]["id"]: d for k, d in self.got if k == "end"}


@pytest.fixture
def target() -> Iterator[Target]:
    t = Target()
    yield t
    t.close()


def _hub(broker: Broker, target: Target, data: Path) -> tuple[Proc, str, str]:
    proc = Proc(
        "hub",
        "--bind", "tcp://127.0.0.1:0",
        "--web", "127.0.0.1:0",
        "--data", str(data),
        "--offline-after", "1",
        "--processor", "motion:yard",
        "--status-every", "0",
        "--mqtt", f"127.0.0.1:{broker.port}",
        "--webhook", target.url,
    )  # fmt: skip
    url = proc.expect(r"dashboard at (http://\S+)").group(1)
    endpoint = proc.expect(r"receiving on (tcp://\S+)").group(1)
    return proc, url, endpoint


def _events(sub: Subscriber, kind: str) -> dict[str, bytes]:
    out = {}
    for m in sub.on("camhub/events"):
        body = json.loads(m.payload)
        if body["type"] == kind:
            out[body["after"]["id"]] = m.payload
    return out


def _hooks(target: Target, kind: str) -> dict[str, bytes]:
    out = {}
    for raw in list(target.bodies):
        body = json.loads(raw)
        if body["type"] == kind:
            out[body["after"]["id"]] = raw
    return out


def _two_events_going_on(
    broker: Broker, target: Target, sub: Subscriber, data: Path
) -> tuple[Proc, str, Yard, dict[str, str]]:
    """A hub where door went quiet (an offline event) and yard moves (a motion event)."""
    proc, url, endpoint = _hub(broker, target, data)
    stream = Stream(url)
    with camhub.Sender(endpoint) as door:
        for i in range(3):
            door.send_jpeg("door", _frame(i, False))
        assert door.flush(5)
    yard = Yard(endpoint)
    sub.wait_for("camhub/door/offline", lambda m: m.payload == b"1", 20)
    sub.wait_for("camhub/yard/motion", lambda m: m.payload == b"1", 20)
    ids = {
        json.loads(p)["after"]["label"]: json.loads(p)["after"]["id"]
        for p in _events(sub, "new").values()
    }
    assert set(ids) == {"offline", "motion"}, ids
    proc.stream = stream  # type: ignore[attr-defined]
    return proc, url, yard, ids


def _retained(broker: Broker) -> dict[str, bytes]:
    topics = ("door/status", "door/offline", "yard/status", "yard/motion")
    late = Subscriber(broker, "camhub/+/+").wait_ready()
    try:
        return {t: late.wait_for(f"camhub/{t}").payload for t in topics}
    finally:
        late.close()


FINAL = {
    "door/status": b"offline",
    "door/offline": b"0",
    "yard/status": b"offline",  # it never came back after the restart
    "yard/motion": b"0",
}


def test_sigterm_ends_every_event_on_every_output(
    broker: Broker, subscriber: Subscriber, target: Target, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    proc, _url, yard, ids = _two_events_going_on(broker, target, subscriber, data)
    stream: Stream = proc.stream  # type: ignore[attr-defined]
    try:
        proc.p.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        yard.close()
        proc.kill()
    stream.thread.join(10)
    subscriber.wait_for("camhub/available", lambda m: m.payload == b"offline")
    mqtt_ends = _events(subscriber, "end")
    hook_ends = _hooks(target, "end")
    sse_ends = stream.ends()
    for label, eid in ids.items():
        assert eid in mqtt_ends, f"no MQTT end for the {label} event"
        body = json.loads(mqtt_ends[eid])
        assert body["after"]["data"]["ended_by"] == "hub stopped"
        assert body["before"]["end"] is None and body["after"]["end"] is not None
        # One JSON, built once: the same bytes on MQTT, the webhook and the event stream.
        assert hook_ends.get(eid) == mqtt_ends[eid], f"webhook end of {label}"
        assert sse_ends.get(eid) == mqtt_ends[eid], f"event stream end of {label}"
    assert subscriber.on("camhub/door/offline")[-1].payload == b"0"
    assert subscriber.on("camhub/yard/motion")[-1].payload == b"0"

    # Restarted without the cameras: nothing was left open, and yard's status is corrected.
    subscriber.clear()
    again, url, _ = _hub(broker, target, data)
    try:
        subscriber.wait_for("camhub/yard/status", lambda m: m.payload == b"offline")
        events = httpx.get(url + "api/events", timeout=5).json()["events"]
        assert events and all(e["end"] is not None for e in events)
        assert not _events(subscriber, "end")
        assert _retained(broker) == FINAL
    finally:
        again.p.terminate()
        again.wait(30)
        again.kill()


def test_sigkill_leaves_events_that_the_next_start_ends_on_every_output(
    broker: Broker, subscriber: Subscriber, target: Target, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    proc, url, yard, ids = _two_events_going_on(broker, target, subscriber, data)

    def stored() -> bool:  # the store commits every 0.2 s: a younger event dies with the hub
        events = httpx.get(url + "api/events", timeout=5).json()["events"]
        return set(ids.values()) <= {e["id"] for e in events}

    try:
        wait_until(stored, 10)
        proc.p.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        yard.close()
        proc.kill()
    subscriber.wait_for("camhub/available", lambda m: m.payload == b"offline")  # last will
    assert not _events(subscriber, "end") and not _hooks(target, "end")
    stale = _retained(broker)
    assert stale["door/offline"] == b"1" and stale["yard/motion"] == b"1"
    assert stale["yard/status"] == b"online"

    subscriber.clear()
    again, url, _ = _hub(broker, target, data)
    try:
        for label, eid in ids.items():
            m = subscriber.wait_for(
                "camhub/events", lambda m, e=eid: json.loads(m.payload)["after"]["id"] == e
            )
            body = json.loads(m.payload)
            assert body["type"] == "end", label
            assert body["after"]["data"]["ended_by"] == "hub interrupted"
            assert body["after"]["end"] >= body["after"]["start"]
        wait_until(lambda: set(_hooks(target, "end")) == set(ids.values()), 15)
        assert _hooks(target, "end") == {
            eid: p for eid, p in _events(subscriber, "end").items() if eid in ids.values()
        }
        subscriber.wait_for("camhub/door/offline", lambda m: m.payload == b"0")
        subscriber.wait_for("camhub/yard/motion", lambda m: m.payload == b"0")
        subscriber.wait_for("camhub/yard/status", lambda m: m.payload == b"offline")
        events = httpx.get(url + "api/events", timeout=5).json()["events"]
        by_id = {e["id"]: e for e in events}
        for eid in ids.values():
            assert by_id[eid]["end"] is not None
            assert by_id[eid]["data"]["ended_by"] == "hub interrupted"
        assert _retained(broker) == FINAL
    finally:
        again.p.terminate()
        again.wait(30)
        again.kill()
