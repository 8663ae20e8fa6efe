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

import psutil
import pytest

from tests.phones.conftest import PhoneHub, send_frame
from tests.web.conftest import jpegs, wait_until

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
    counted = {c.client: c for c in phone_hub.phones.gate.clients()}
    assert counted["127.0.0.1"].oversized == 8
    assert "before the hello" in counted["127.0.0.1"].last_reason
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
