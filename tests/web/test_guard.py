"""Hostile HTTP clients against a real dashboard (uvicorn on a free port): slowloris from
one address must not lock others out, half-sent requests are closed, idle keep-alive
connections end, and long streams are left alone.

The attacker connects from 127.0.0.2 and the honest client from 127.0.0.1: Linux routes
all of 127.0.0.0/8 to the loopback interface, so the server sees two addresses."""

from __future__ import annotations

import select
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

import camhub
from camhub.security.certs import ensure_certificate
from camhub.web import WebServer
from camhub.web.guard import ConnectionLimits
from tests.conftest import wait_until

pytestmark = pytest.mark.timeout(120)

ATTACKER = "127.0.0.2"
HALF_REQUEST = b"GET /cam HTTP/1.1\r\nHost: x\r\n"  # no blank line: the head never ends
LIMITS = ConnectionLimits(header_timeout_s=3.0, keep_alive_s=1, max_per_address=64)


@pytest.fixture
def guarded(hub: camhub.Hub) -> Iterator[WebServer]:
    server = WebServer(hub, "127.0.0.1:0", limits=LIMITS).start()
    yield server
    server.stop()


def _connect(port: int, source: str = ATTACKER) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))


class Reader:
    """What one raw socket received, read without blocking, until the server closed it."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.data = b""
        self.closed = False

    def poll(self) -> bool:
        while not self.closed and select.select([self.sock], [], [], 0)[0]:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            self.data += chunk
            self.closed = not chunk
        return self.closed

    @property
    def status(self) -> int | None:
        parts = self.data.split(b" ", 2)
        return int(parts[1]) if len(parts) > 2 and parts[0].startswith(b"HTTP/") else None


def test_slowloris_from_one_address_does_not_lock_out_others(guarded: WebServer) -> None:
    attackers = []
    for _ in range(256):
        sock = _connect(guarded.port)
        try:
            sock.sendall(HALF_REQUEST)
        except OSError:
            pass  # refused and reset already: counted below from what it received
        attackers.append(Reader(sock))
    try:
        wait_until(lambda: guarded.guard.open_from(ATTACKER) == 64, 20, "the attacker's cap")
        # Others are served while the attacker holds every connection it may have.
        with httpx.Client(base_url=guarded.url, timeout=10) as client:
            for path in ("/", "/api/cameras", "/healthz"):
                assert client.get(path).status_code == 200, path
        assert guarded.guard.open_from(ATTACKER) == 64

        # Nothing the attacker opened stays open: over the cap at once, the rest at the
        # request head deadline.
        wait_until(lambda: all(r.poll() for r in attackers), 30, "attacker sockets closed")
        statuses = [r.status for r in attackers]
        guard = guarded.guard
        assert statuses.count(408) == guard.header_timeouts >= 64
        assert guard.header_timeouts + guard.refused == 256
        assert statuses.count(503) + statuses.count(None) == guard.refused  # None: reset
        refused = next(r for r in attackers if r.status == 503)
        assert b"too many open connections from 127.0.0.2" in refused.data
        timed_out = next(r for r in attackers if r.status == 408)
        assert b"no complete request head within 3 s" in timed_out.data
        wait_until(lambda: guarded.guard.total == 0, 10, "every connection counted out")
    finally:
        for r in attackers:
            r.sock.close()


def test_second_half_sent_request_on_a_keep_alive_connection_is_closed(
    guarded: WebServer,
) -> None:
    with _connect(guarded.port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        reader = Reader(sock)
        wait_until(lambda: reader.poll() or b'"ok"' in reader.data, 10, "first answer")
        assert reader.status == 200 and not reader.closed
        sock.sendall(HALF_REQUEST)  # the next request starts, and never ends
        wait_until(reader.poll, 20, "connection closed")
        assert b"408 Request Timeout" in reader.data
    assert guarded.guard.header_timeouts == 1


def test_idle_keep_alive_connection_is_closed(guarded: WebServer) -> None:
    with _connect(guarded.port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        reader = Reader(sock)
        wait_until(reader.poll, 20, "idle connection closed")
        assert reader.status == 200
    assert guarded.guard.header_timeouts == 0  # uvicorn's keep-alive timeout, not ours


def test_a_long_stream_outlives_the_head_deadline(guarded: WebServer, hub: camhub.Hub) -> None:
    with _connect(guarded.port, "127.0.0.1") as sock:
        sock.sendall(b"GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        reader = Reader(sock)
        wait_until(lambda: reader.poll() or reader.status is not None, 10, "stream head")
        assert reader.status == 200
        time.sleep(LIMITS.header_timeout_s * 2)  # past the deadline: it must not fire
        assert not reader.poll()
        assert guarded.guard.open_from("127.0.0.1") == 1
    assert guarded.guard.header_timeouts == 0


def test_default_limits_are_a_few_seconds() -> None:
    limits = ConnectionLimits()
    assert 1 <= limits.header_timeout_s <= 15
    assert limits.keep_alive_s <= 15
    assert 16 <= limits.max_per_address < limits.max_connections


def _server_sockets(port: int) -> list[object]:
    """This process's TCP sockets on the server's side of ``port``."""
    return [c for c in psutil.Process().net_connections("tcp") if c.laddr and c.laddr.port == port]


def test_stop_closes_every_connection(hub: camhub.Hub, tmp_path: Path) -> None:
    """Open streams and half-sent requests end with the server, even over TLS with peers
    that never answer close_notify (their sockets would otherwise outlive the loop)."""
    cert, key = ensure_certificate(tmp_path)
    server = WebServer(hub, "127.0.0.1:0", limits=LIMITS, tls_cert=cert, tls_key=key).start()
    port = server.port
    ctx = ssl.create_default_context(cafile=str(cert))
    clients = []
    for request in (b"GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", HALF_REQUEST):
        tls = ctx.wrap_socket(_connect(port, "127.0.0.1"), server_hostname="127.0.0.1")
        tls.sendall(request)
        clients.append(tls)  # never read: close_notify goes unanswered
    try:
        wait_until(lambda: server.guard.total == 2, 10, "both connections admitted")
        server.stop()
        wait_until(lambda: not _server_sockets(port), 10, "server sockets closed")
        assert server.guard.total == 0
    finally:
        for tls in clients:
            tls.close()
