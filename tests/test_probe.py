"""What answers at a hub's address (camhub.security.probe), and what a sender tells its
user when the hub is not there: a port proxy or tunnel with nothing behind it is not
reported as a key problem."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import camhub
from camhub.security import CurveServer
from camhub.security.keys import write_key_pair
from camhub.security.probe import probe

Behaviour = Callable[[socket.socket], None]


def _close_at_once(conn: socket.socket) -> None:
    conn.close()


def _ssh_banner(conn: socket.socket) -> None:
    conn.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")


def _silent(conn: socket.socket) -> None:
    pass  # keeps the connection open and says nothing


@pytest.fixture
def not_a_hub(request: pytest.FixtureRequest) -> Iterator[str]:
    """A TCP server on a free port that is not a hub: it accepts and behaves as asked."""
    behave: Behaviour = request.param
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)
            behave(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        server.close()
        for conn in held:
            conn.close()


@pytest.mark.parametrize("not_a_hub", [_close_at_once], indirect=True)
def test_a_proxy_that_hangs_up_is_not_taken_for_a_key_problem(not_a_hub: str) -> None:
    assert probe(not_a_hub).kind == "closed"
    with camhub.Sender(not_a_hub, timeout=1.0) as sender:
        assert not sender.send_jpeg("cam", b"\xff\xd8\xff\xe0jpeg")
        error = sender.last_error or ""
    assert "closed it at once: not a hub" in error, error
    assert "CURVE" not in error and "--hub-key" not in error


@pytest.mark.parametrize("not_a_hub", [_silent], indirect=True)
def test_a_silent_listener_is_named_as_such(not_a_hub: str) -> None:
    assert probe(not_a_hub, timeout=0.3).kind == "silent"
    with camhub.Sender(not_a_hub, timeout=1.0) as sender:
        assert not sender.send_jpeg("cam", b"\xff\xd8\xff\xe0jpeg")
        error = sender.last_error or ""
    assert "is not reachable" in error and "does not speak ZeroMQ" in error, error


@pytest.mark.parametrize("not_a_hub", [_ssh_banner], indirect=True)
def test_another_server_is_quoted(not_a_hub: str) -> None:
    found = probe(not_a_hub)
    assert (found.kind, found.detail) == ("other", "SSH-2.0-OpenSSH_9.2p1 Debian-2")
    # libzmq takes the banner for an old ZMTP peer and queues the frame: the missing
    # reply is what shows, and the probe says why.
    with camhub.Sender(not_a_hub, window=1, timeout=1.0) as sender:
        assert sender.request(camhub.Frame("cam", jpeg=b"\xff\xd8\xff\xe0jpeg")) is None
        error = sender.last_error or ""
    assert "did not reply" in error and "answered 'SSH-2.0-OpenSSH" in error, error


def test_nothing_listening() -> None:
    with socket.create_server(("127.0.0.1", 0)) as spare:
        address = f"tcp://127.0.0.1:{spare.getsockname()[1]}"
    found = probe(address)
    assert found.kind == "refused" and "is `camhub hub` running?" in found.reason()
    with camhub.Sender(address, timeout=0.5) as sender:
        assert not sender.send_jpeg("cam", b"\xff\xd8\xff\xe0jpeg")
        assert "connection refused" in (sender.last_error or "")


def test_real_hubs_show_their_security(tmp_path: Path) -> None:
    with camhub.Hub("tcp://127.0.0.1:0") as plain:
        assert (probe(plain.endpoint).kind, probe(plain.endpoint).detail) == ("zmtp", "NULL")
    write_key_pair(tmp_path, "hub")
    (tmp_path / "authorized").mkdir()
    server = CurveServer(tmp_path / "hub.key_secret", tmp_path / "authorized")
    with camhub.Hub("tcp://127.0.0.1:0", security=server) as secure:
        assert probe(secure.endpoint).detail == "CURVE"
        # A plain sender is still told to use keys when a CURVE hub hangs up on it.
        with camhub.Sender(secure.endpoint, timeout=1.0) as sender:
            assert not sender.send_jpeg("cam", b"\xff\xd8\xff\xe0jpeg")
            assert "requires CURVE encryption" in (sender.last_error or "")


@pytest.mark.parametrize("address", ["ipc:///tmp/x", "tcp://host-without-port"])
def test_addresses_it_cannot_probe(address: str) -> None:
    assert probe(address).kind == "skipped"
