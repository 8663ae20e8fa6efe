"""Clients that never authenticate must not make the hub buffer large messages: raw TLS
WebSocket clients that upgrade ``/cam/ws`` and start a 32 MiB message before the hello,
against a real hub (uvicorn, HTTPS) on a free port."""

from __future__ import annotations

import base64
import json
import os
import select
import socket
import ssl
import threading
from pathlib import Path

import httpx
import psutil
import pytest

from camhub.web.guard import ConnectionLimits
from tests.conftest import wait_until
from tests.phones.conftest import PhoneHub, send_frame, start_phone_hub, stop_phone_hub
from tests.web.conftest import jpegs

pytestmark = pytest.mark.timeout(120)

MESSAGE = 32 * 1024 * 1024
CHUNK = b"\0" * (1024 * 1024)


def _upgrade(ph: PhoneHub) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", ph.web.port), timeout=10)
    tls = ph.ssl().wrap_socket(raw, server_hostname="127.0.0.1")
    key = base64.b64encode(os.urandom(16)).decode()
    tls.sendall(
        (
            f"GET /cam/ws HTTP/1.1\r\nHost: 127.0.0.1:{ph.web.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = tls.recv(4096)
        assert chunk, "hub closed during the upgrade"
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head[:200]
    return tls


def _close_code(data: bytes) -> int | None:
    """The code of the first close frame in ``data`` (server frames are not masked)."""
    i = 0
    while i + 2 <= len(data):
        opcode, size = data[i] & 0x0F, data[i + 1] & 0x7F
        i += 2
        if size == 126:
            size, i = int.from_bytes(data[i : i + 2], "big"), i + 2
        elif size == 127:
            size, i = int.from_bytes(data[i : i + 8], "big"), i + 8
        if opcode == 0x8:
            return int.from_bytes(data[i : i + 2], "big") if size >= 2 else 1005
        i += size
    return None


class BigMessageBeforeHello:
    """Starts one binary message of MESSAGE bytes (zero mask key: the payload goes out
    as is) and keeps sending until the hub answers or everything is sent."""

    def __init__(self, ph: PhoneHub) -> None:
        self.sock = _upgrade(ph)
        self.sent = 0
        self.received = b""

    def run(self) -> None:
        sock = self.sock
        sock.sendall(bytes([0x82, 0x80 | 127]) + MESSAGE.to_bytes(8, "big") + b"\0\0\0\0")
        try:
            while self.sent < MESSAGE and not select.select([sock], [], [], 0)[0]:
                sock.sendall(CHUNK)
                self.sent += len(CHUNK)
        except OSError:
            pass  # the hub closed while we sent: what it said is still to be read
        sock.settimeout(15)
        try:
            while chunk := sock.recv(65536):
                self.received += chunk
        except OSError:
            pass
        sock.close()

    @property
    def close_code(self) -> int | None:
        return _close_code(self.received)


def test_large_message_before_hello_is_refused_without_buffering(phone_hub: PhoneHub) -> None:
    process = psutil.Process()
    before = process.memory_info().rss
    clients = [BigMessageBeforeHello(phone_hub) for _ in range(8)]
    threads = [threading.Thread(target=c.run) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    grew = process.memory_info().rss - before

    assert [c.close_code for c in clients] == [1009] * 8
    assert all(c.sent < MESSAGE // 4 for c in clients), [c.sent for c in clients]
    assert grew < 64 * 1024 * 1024, f"hub RSS grew by {grew / 2**20:.0f} MiB"
    # The socket is closed by the protocol at once; the app counts it when it next reads.
    gate = phone_hub.phones.gate
    wait_until(lambda: gate.stats_for("127.0.0.1").oversized == 8, 10, "8 counted")
    assert "before the hello" in gate.stats_for("127.0.0.1").last_reason
    wait_until(lambda: phone_hub.web.guard.total == 0, 10, "connections counted out")


def test_after_the_hello_frames_may_be_large(phone_hub: PhoneHub) -> None:
    # A frame well over the pre-authentication limit is accepted once the device is known.
    big = jpegs(1, size=(1280, 960))[0]
    assert len(big) > phone_hub.web.guard.limits.ws_pre_auth_max
    ws, welcome = phone_hub.open(phone_hub.device("porch"))
    assert welcome["type"] == "welcome"
    assert send_frame(ws, big, 1)["type"] == "ack"


def test_hello_over_the_limit_is_refused(phone_hub: PhoneHub) -> None:
    token = phone_hub.device("porch")
    limit = phone_hub.web.guard.limits.ws_pre_auth_max
    ws, _ = phone_hub.open(None)  # refused: the ordinary path still says why
    ws.close()
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    with connect(phone_hub.ws_url, ssl=phone_hub.ssl(), open_timeout=10) as ws2:
        ws2.send(json.dumps({"type": "hello", "token": token, "pad": "x" * limit}))
        with pytest.raises(ConnectionClosed) as info:
            ws2.recv(timeout=10)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1009


class TlsSlowloris:
    """Keeps as many half-sent requests over TLS open from 127.0.0.2 as the hub lets it,
    opening a new one whenever one is closed, until ``stop``."""

    def __init__(self, ph: PhoneHub) -> None:
        self.ph = ph
        self.handshaken = 0
        self.socks: list[ssl.SSLSocket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            raw = socket.create_connection(
                ("127.0.0.1", self.ph.web.port), timeout=10, source_address=("127.0.0.2", 0)
            )
            try:
                tls = self.ph.ssl().wrap_socket(raw, server_hostname="127.0.0.1")
            except OSError:
                raw.close()
                continue
            self.handshaken += 1
            try:
                tls.sendall(b"GET /cam HTTP/1.1\r\nHost: x\r\n")
            except OSError:
                pass  # refused at once
            self.socks.append(tls)
            if len(self.socks) >= 256:  # recycle the oldest (closed by the hub by now)
                self.socks.pop(0).close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)


def test_phones_pair_and_stream_during_a_slowloris(tmp_path: Path) -> None:
    """Half-sent requests over TLS from one address (127.0.0.2), kept at the cap; a phone
    on another address pairs, connects and streams, and every attacker connection ends."""
    limits = ConnectionLimits(header_timeout_s=3.0, max_per_address=32)
    ph = start_phone_hub(tmp_path / "phones", connection_limits=limits)
    attack = TlsSlowloris(ph)
    try:
        wait_until(lambda: ph.web.guard.open_from("127.0.0.2") == 32, 30, "attacker capped")
        wait_until(lambda: ph.web.guard.refused > 0, 30, "attacker refused")

        paired = httpx.post(
            f"{ph.base}/cam/pair",
            json={"code": ph.registry.pairing_code, "name": "porch"},
            verify=ph.ssl(),
            timeout=10,
        )
        assert paired.status_code == 200
        ws, welcome = ph.open(paired.json()["token"])
        assert welcome["type"] == "welcome"
        assert send_frame(ws, jpegs(1)[0], 1)["type"] == "ack"

        attack.stop()  # its sockets stay open: the hub has to end them
        guard = ph.web.guard
        wait_until(lambda: guard.open_from("127.0.0.2") == 0, 30, "attackers closed")
        assert guard.header_timeouts >= 32
        assert guard.header_timeouts + guard.refused == attack.handshaken
    finally:
        attack.stop()
        for sock in attack.socks:
            sock.close()
        stop_phone_hub(ph)
