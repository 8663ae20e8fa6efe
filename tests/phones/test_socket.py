"""The frame WebSocket with real clients over real HTTPS: frames reach the camera store,
and every kind of bad client is refused with a reason and counted."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from camhub.phones import DeviceRegistry, PhoneLimits
from camhub.phones.wire import encode_frame
from camhub.protocol import Limits
from camhub.types import HubEvent
from tests.phones.conftest import PhoneHub, send_frame, start_phone_hub
from tests.web.conftest import StreamingCamera, jpegs, wait_until


def closed_with(ws: object) -> tuple[int | None, str]:
    """Read until the hub closes; returns (close code, reason from the 'refused' message
    or the close frame)."""
    reason = ""
    try:
        while True:
            msg = ws.recv(timeout=10)  # type: ignore[attr-defined]
            if isinstance(msg, str) and json.loads(msg).get("type") == "refused":
                reason = json.loads(msg)["reason"]
    except ConnectionClosed as exc:
        rcvd = exc.rcvd
        return (None if rcvd is None else rcvd.code), reason or (rcvd.reason if rcvd else "")


def client(ph: PhoneHub, name: str) -> dict[str, object]:
    found = [c.as_dict() for c in ph.phones.gate.clients() if c.client == name]
    assert found, f"no counters for {name}"
    return found[0]


def test_frames_reach_the_hub_named_after_the_device(phone_hub: PhoneHub) -> None:
    token = phone_hub.device("kitchen")
    ws, welcome = phone_hub.open(token)
    assert welcome["type"] == "welcome" and welcome["camera"] == "kitchen"
    frames = jpegs(5, size=(160, 120))
    for i, jpeg in enumerate(frames):
        ack = send_frame(ws, jpeg, i)
        assert ack["type"] == "ack" and ack["seq"] == i
        assert ack["age_ms"] is not None and ack["age_ms"] >= 0
    ws.close()
    latest = phone_hub.hub.latest("kitchen")
    assert latest is not None and latest.jpeg == frames[-1]
    assert (latest.width, latest.height) == (160, 120)
    stats = phone_hub.hub.camera_stats("kitchen")
    assert stats is not None and stats.frames == 5 and "(browser)" in (stats.peer or "")
    assert client(phone_hub, "kitchen")["frames"] == 5


def test_client_cannot_choose_another_camera_name(phone_hub: PhoneHub) -> None:
    ws, _ = phone_hub.open(phone_hub.device("porch"))
    head = json.dumps({"seq": 1, "ts": time.time(), "msg": "garage"}).encode()
    ws.send(struct.pack(">H", len(head)) + head + jpegs(1)[0])
    assert json.loads(ws.recv(timeout=10))["type"] == "ack"
    assert phone_hub.hub.camera_names() == ["porch"]


def test_ping_answers_with_the_hub_clock(phone_hub: PhoneHub) -> None:
    ws, _ = phone_hub.open(phone_hub.device("clock"))
    ws.send(json.dumps({"type": "ping", "t": 123.5}))
    pong = json.loads(ws.recv(timeout=10))
    assert pong["type"] == "pong" and pong["t"] == 123.5
    assert abs(pong["hub"] - time.time()) < 5


@pytest.mark.parametrize(
    ("token", "code", "words"),
    [
        (None, 4401, "no device token"),
        ("not-a-real-token", 4401, "unknown device token"),
    ],
)
def test_missing_or_wrong_token_is_refused(
    phone_hub: PhoneHub, token: str | None, code: int, words: str
) -> None:
    ws, first = phone_hub.open(token)
    assert first["type"] == "refused" and words in first["reason"]
    assert closed_with(ws)[0] == code
    assert client(phone_hub, "127.0.0.1")["refused"] == 1
    assert phone_hub.hub.camera_names() == []


def test_revoked_phone_is_cut_off_while_streaming_and_refused_after(phone_hub: PhoneHub) -> None:
    token = phone_hub.device("attic")
    ws, _ = phone_hub.open(token)
    assert send_frame(ws, jpegs(1)[0], 0)["type"] == "ack"
    # Another process (the CLI) revokes it through the file: picked up live.
    DeviceRegistry(phone_hub.folder).revoke("attic")
    time.sleep(1.2)
    ws.send(encode_frame(jpegs(1)[0], 1, time.time()))
    code, reason = closed_with(ws)
    assert code == 4403 and "revoked" in reason
    ws2, first = phone_hub.open(token)
    assert first["type"] == "refused" and "revoked" in first["reason"]
    assert closed_with(ws2)[0] == 4403


def test_silent_client_is_closed_with_a_reason(tmp_path: Path) -> None:
    ph = start_phone_hub(tmp_path, PhoneLimits(auth_timeout_s=0.5))
    try:
        with connect(ph.ws_url, ssl=ph.ssl(), open_timeout=10) as ws:
            code, reason = closed_with(ws)
        assert code == 1008 and "no hello" in reason
    finally:
        ph.web.stop()
        ph.hub.stop()


def test_idle_phone_is_closed_with_a_reason(tmp_path: Path) -> None:
    ph = start_phone_hub(tmp_path, PhoneLimits(idle_timeout_s=0.6))
    try:
        ws, first = ph.open(ph.device("sleepy"))
        assert first["type"] == "welcome"
        code, reason = closed_with(ws)
        assert code == 1008 and "nothing received" in reason
        assert client(ph, "sleepy")["refused"] == 1
    finally:
        ph.clients.close()
        ph.web.stop()
        ph.hub.stop()


def test_non_jpeg_frame_is_refused_and_counted(phone_hub: PhoneHub) -> None:
    events: list[HubEvent] = []
    phone_hub.hub.bus.subscribe(events.append, name="test", kinds=(HubEvent,))
    ws, _ = phone_hub.open(phone_hub.device("junk"))
    ws.send(encode_frame(b"GIF89a" + bytes(5000), 0, time.time()))
    code, reason = closed_with(ws)
    assert code == 1007 and "not a JPEG" in reason
    stats = client(phone_hub, "junk")
    assert stats["malformed"] == 1 and "not a JPEG" in str(stats["last_reason"])
    assert phone_hub.hub.camera_names() == []
    wait_until(lambda: any(e.kind == "malformed" for e in events), what="malformed event")
    assert "(browser)" in next(e.detail for e in events if e.kind == "malformed")


def test_garbage_header_is_refused(phone_hub: PhoneHub) -> None:
    ws, _ = phone_hub.open(phone_hub.device("garbage"))
    ws.send(b"\xff\xff" + bytes(100))
    code, reason = closed_with(ws)
    assert code == 1007 and "header length" in reason


def jpeg_bomb(width: int, height: int) -> bytes:
    """A real small JPEG whose frame header claims ``width`` x ``height`` pixels."""
    data = bytearray(jpegs(1)[0])
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def test_jpeg_bomb_is_refused_before_decoding(phone_hub: PhoneHub) -> None:
    ws, _ = phone_hub.open(phone_hub.device("bomb"))
    ws.send(encode_frame(jpeg_bomb(60000, 60000), 0, time.time()))
    code, reason = closed_with(ws)
    assert code == 1007 and "over the limits" in reason
    assert client(phone_hub, "bomb")["malformed"] == 1


def test_oversized_frame_is_closed_and_counted(tmp_path: Path) -> None:
    ph = start_phone_hub(tmp_path, frame_limits=Limits(max_payload=200_000))
    try:
        ws, _ = ph.open(ph.device("big"))
        # Just over the payload limit: refused by the same decoder as ZeroMQ frames...
        ws.send(encode_frame(jpegs(1)[0] + bytes(200_000), 0, time.time()))
        code, reason = closed_with(ws)
        assert code == 1007 and "over the limit" in reason
        # ...far over: the WebSocket layer stops reading it (1009), before buffering it.
        ws2, _ = ph.open(ph.device("huge"))
        try:
            ws2.send(encode_frame(jpegs(1)[0] + bytes(8 << 20), 0, time.time()))
            code = closed_with(ws2)[0]
        except ConnectionClosed as exc:  # the hub may close while we are still sending
            code = None if exc.rcvd is None else exc.rcvd.code
        assert code in (1009, None)
        wait_until(lambda: client(ph, "huge")["oversized"] == 1, what="oversized counted")
        assert ph.web.dashboard.hub.camera_names() == []
    finally:
        ph.clients.close()
        ph.web.stop()
        ph.hub.stop()


def test_client_sending_too_fast_is_dropped_then_disconnected(tmp_path: Path) -> None:
    ph = start_phone_hub(tmp_path, PhoneLimits(max_fps=5))
    try:
        ws, _ = ph.open(ph.device("eager"))
        jpeg = jpegs(1)[0]
        replies: list[str] = []
        with pytest.raises(ConnectionClosed) as info:
            for seq in range(200):  # no waiting for acks: as fast as the socket takes them
                ws.send(encode_frame(jpeg, seq, time.time()))
                while True:
                    try:
                        replies.append(json.loads(ws.recv(timeout=0))["type"])
                    except TimeoutError:
                        break
            while True:
                replies.append(json.loads(ws.recv(timeout=10))["type"])
        assert info.value.rcvd is not None and info.value.rcvd.code == 1008
        assert "faster than 5 fps" in info.value.rcvd.reason
        stats = client(ph, "eager")
        assert 1 <= int(stats["frames"]) <= 10  # the one-second burst, no more
        assert int(stats["rate_limited"]) > 5
        assert set(replies) <= {"ack", "drop", "refused"}
    finally:
        ph.clients.close()
        ph.web.stop()
        ph.hub.stop()


def test_connection_flood_is_refused_and_other_cameras_keep_streaming(tmp_path: Path) -> None:
    ph = start_phone_hub(tmp_path, PhoneLimits(attempts_burst=20, attempts_per_s=1.0))
    zmq_cam = StreamingCamera(ph.hub.endpoint, "zmq-cam", fps=20)
    stop = threading.Event()
    try:
        ws, _ = ph.open(ph.device("good-phone"))
        jpeg = jpegs(1)[0]
        acks = 0

        def stream() -> None:
            nonlocal acks
            seq = 0
            while not stop.is_set():
                if send_frame(ws, jpeg, seq)["type"] == "ack":
                    acks += 1
                seq += 1
                time.sleep(0.05)

        streamer = threading.Thread(target=stream, daemon=True)
        streamer.start()
        wait_until(lambda: acks > 10, what="phone streaming")

        def count() -> tuple[int, int]:
            stats = ph.hub.camera_stats("zmq-cam")
            return (0 if stats is None else stats.frames), acks

        time.sleep(1.0)
        before0 = count()
        time.sleep(2.0)
        before1 = count()
        t0 = time.monotonic()
        during0 = count()
        flood_args = [str(ph.cert), "300"]
        flood = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.phones.flood",
                "127.0.0.1",
                str(ph.web.port),
                *flood_args,
            ],
            capture_output=True,
            text=True,
            timeout=100,
        )
        assert flood.returncode == 0, flood.stderr[-2000:]
        outcomes = json.loads(flood.stdout)
        during1 = count()
        flood_s = time.monotonic() - t0
        stop.set()
        streamer.join(5)
        refused, admitted = outcomes.get("http 403", 0), outcomes.get("http 101", 0)
        # The bucket refills at 1 attempt/s while the flood runs, which takes seconds on a
        # loaded machine: beyond the burst of 20, only what refilled may get in.
        assert admitted <= 20 + 1.0 * outcomes["seconds"] + 5, outcomes
        assert refused >= 300 - admitted - 5 and refused >= 150, outcomes
        counted = client(ph, "127.0.0.1")
        assert int(counted["refused"]) >= refused
        assert "too many connection attempts" in str(counted["last_reason"])
        rate_before = [(b - a) / 2.0 for a, b in zip(before0, before1, strict=True)]
        rate_during = [(b - a) / flood_s for a, b in zip(during0, during1, strict=True)]
        # Ratios, not wall-clock figures: the flood may cost a little, never a stall.
        assert rate_during[0] >= 0.5 * rate_before[0], (rate_before, rate_during)
        assert rate_during[1] >= 0.3 * rate_before[1], (rate_before, rate_during)
    finally:
        stop.set()
        zmq_cam.stop()
        ph.clients.close()
        ph.web.stop()
        ph.hub.stop()
