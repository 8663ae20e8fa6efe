from __future__ import annotations

import pytest

from camhub.transport import AddressError, check_endpoint


@pytest.mark.parametrize(
    "good",
    ["tcp://127.0.0.1:5555", "tcp://hub.local:1", "tcp://[::1]:5555", "ipc:///tmp/x", "inproc://a"],
)
def test_good_endpoints(good: str) -> None:
    assert check_endpoint(good) == good


@pytest.mark.parametrize("good", ["tcp://*:5555", "tcp://127.0.0.1:0", "tcp://127.0.0.1:*"])
def test_bind_only_endpoints(good: str) -> None:
    assert check_endpoint(good, bind=True) == good
    with pytest.raises(AddressError):
        check_endpoint(good)


@pytest.mark.parametrize(
    "bad", ["", "5555", "tcp://:5555", "tcp://a b:1", "udp://x:1", "tcp://x:99999"]
)
def test_bad_endpoints(bad: str) -> None:
    with pytest.raises(AddressError, match="bad address"):
        check_endpoint(bad)


def test_socket_helpers_move_a_multipart_message_and_report_readiness() -> None:
    import zmq

    from camhub.transport import new_socket, readable, recv_parts, send_parts

    server = new_socket(zmq.ROUTER)
    client = new_socket(zmq.DEALER)
    try:
        server.bind("inproc://helpers")
        client.connect("inproc://helpers")
        assert not readable(server) and not readable(server, 10)
        big = b"x" * (512 * 1024)  # above the copy threshold: sent without copying
        send_parts(client, [b"", b"header", big])
        assert readable(server, 1000)
        parts = recv_parts(server)
        assert [bytes(p.buffer) for p in parts[1:]] == [b"", b"header", big]
        send_parts(server, [parts[0], b"", b"OK"])
        assert [p.bytes for p in recv_parts(client, wait=True)] == [b"", b"OK"]
        with pytest.raises(zmq.Again):
            recv_parts(client)  # nothing left: non-blocking by default
    finally:
        client.close()
        server.close()
