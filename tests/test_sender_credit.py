"""Credit acknowledgements: a pipelining camhub Sender asks a camhub hub for one reply
per ``ack_every`` frames; errors are still answered at once; imagezmq hubs (which ignore
the key and answer every frame) still serve it; a hub restart mid-window is survived."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import imagezmq
import pytest
import zmq

import camhub
from camhub import protocol
from camhub.bus import EventBus
from camhub.receiver import Receiver
from camhub.types import Frame
from tests.conftest import (
    IMAGEZMQ,
    last_endpoint,
    start_peer,
    start_peer_ready,
    stop_peer,
    wait_until,
)


@pytest.fixture
def counted() -> Iterator[tuple[Receiver, list[Frame]]]:
    """A real receiver whose sink keeps every frame."""
    frames: list[Frame] = []
    bus = EventBus()
    receiver = Receiver(lambda f, _peer: frames.append(f), bus, bind=["tcp://127.0.0.1:0"])
    receiver.start()
    yield receiver, frames
    receiver.stop()
    bus.close()


@pytest.mark.parametrize(("window", "every"), [(8, 4), (4, 2), (2, 1), (1, 1)])
def test_sender_announces_credit_only_when_pipelining(window: int, every: int) -> None:
    with camhub.Sender("tcp://127.0.0.1:9", window=window) as sender:
        assert sender.ack_every == every


def test_hub_acknowledges_every_nth_frame(
    counted: tuple[Receiver, list[Frame]], jpeg: bytes
) -> None:
    receiver, frames = counted
    with camhub.Sender(receiver.endpoints[0], window=8, timeout=5.0) as sender:
        for _ in range(200):
            assert sender.send_jpeg("c", jpeg)
            assert sender.in_flight <= 8
        assert sender.flush()  # the last, short run is acknowledged after ACK_DELAY
        assert sender.stats.sent == sender.stats.acked == 200
        assert sender.stats.dropped == sender.stats.timeouts == 0
    assert len(frames) == 200 and receiver.messages == 200
    # One reply per 4 frames, plus one for each short run answered on the delay.
    assert receiver.replies <= 200 // 4 + 20, receiver.replies
    assert [f.seq for f in frames] == list(range(200))
    assert all("ack" not in f.meta for f in frames)


def test_imagezmq_style_peers_still_get_a_reply_per_frame(
    counted: tuple[Receiver, list[Frame]], jpeg: bytes
) -> None:
    receiver, _frames = counted
    sender = imagezmq.ImageSender(connect_to=receiver.endpoints[0])
    sender.zmq_socket.setsockopt(zmq.RCVTIMEO, 5000)
    try:
        for _ in range(10):
            assert sender.send_jpg("iz", jpeg) == b"OK"
    finally:
        sender.close()
    assert receiver.replies == receiver.messages == 10
    with camhub.Sender(receiver.endpoints[0], window=1) as lockstep:  # compat path: REQ
        for _ in range(5):
            assert lockstep.request(Frame("w1", jpeg=jpeg)) == b"OK"
    assert receiver.replies == 15


def test_error_reaches_the_sender_at_once_mid_window(
    counted: tuple[Receiver, list[Frame]], jpeg: bytes
) -> None:
    receiver, frames = counted
    with camhub.Sender(receiver.endpoints[0], window=8, timeout=5.0) as sender:
        sender.send_jpeg("c", jpeg)  # held back: 1 of 4
        # A JPEG whose declared size is wrong is refused by the hub.
        sender.send_frame(Frame("c", jpeg=jpeg, width=1, height=1))
        # No more frames are sent meanwhile: an error held back until the window of 4 is
        # full would never come.
        wait_until(lambda: sender._take_replies(0.05) and sender.stats.refused == 1, 10)
        assert sender.last_reply is not None and sender.last_reply.startswith(b"ERR ")
        assert sender.in_flight <= 1  # the refused frame is settled; the good one may wait
        for _ in range(6):
            sender.send_jpeg("c", jpeg)
        assert sender.flush()
        assert sender.stats.acked == 7 and sender.stats.refused == 1
    assert len(frames) == 7 and receiver.malformed == 1


def test_request_is_answered_without_waiting_for_credit(
    counted: tuple[Receiver, list[Frame]], jpeg: bytes
) -> None:
    receiver, _frames = counted
    with camhub.Sender(receiver.endpoints[0], window=8, timeout=5.0) as sender:
        for _ in range(3):
            sender.send_jpeg("c", jpeg)
        assert sender.request(Frame("c", jpeg=jpeg)) == b"OK"
        assert sender.in_flight == 0 and sender.stats.acked == 4


@IMAGEZMQ
def test_sender_recovers_from_hub_restart_mid_window(jpeg: bytes) -> None:
    hub, (endpoint,) = start_peer_ready("hub_process.py", "tcp://127.0.0.1:0")
    sender = camhub.Sender(endpoint, window=8, timeout=0.5)
    try:
        for _ in range(3):  # a partial window: the hub holds these acknowledgements
            assert sender.send_jpeg("r", jpeg)
        stop_peer(hub)  # SIGKILL: the held acknowledgements never come
        for _ in range(12):  # each gives up after its timeout; none blocks for good
            sender.send_jpeg("r", jpeg)
        assert sender.stats.reconnects >= 1 and sender.stats.timeouts >= 1
        assert sender.stats.dropped >= 3  # at least the three held acknowledgements
        hub = start_peer("hub_process.py", endpoint)
        wait_until(lambda: sender.send_jpeg("r", jpeg) and sender.stats.acked > 3, 10)
        assert sender.flush()
        assert sender.last_error is None
    finally:
        sender.close()
        stop_peer(hub)


def test_imagezmq_hub_serves_a_credit_sender(jpeg: bytes) -> None:
    hub = imagezmq.ImageHub(open_port="tcp://127.0.0.1:*")
    endpoint = last_endpoint(hub.zmq_socket)
    hub.zmq_socket.setsockopt(zmq.RCVTIMEO, 200)
    got: list[str] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                name, _buf = hub.recv_jpg()
            except zmq.Again:
                continue
            got.append(name)
            hub.send_reply(b"OK")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with camhub.Sender(endpoint, window=8, timeout=5.0) as sender:
            assert sender.ack_every == 4
            for _ in range(40):
                assert sender.send_jpeg("iz", jpeg)
                assert sender.in_flight <= 8
            assert sender.flush()
            # imagezmq answers every frame: more replies than the sender asked for.
            assert sender.stats.acked == 40 and sender.in_flight == 0
            assert sender.stats.dropped == 0
        wait_until(lambda: len(got) == 40)
    finally:
        stop.set()
        thread.join(timeout=5)
        hub.close()


def test_bad_ack_values_are_refused_with_an_error(counted: tuple[Receiver, list[Frame]]) -> None:
    receiver, frames = counted
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, 5000)
    sock.connect(receiver.endpoints[0])
    try:
        for bad in (b"0", b"-3", b'"x"', b"99999", b"true"):
            sock.send_multipart([b"", b'{"ack":' + bad + b',"msg":"x"}', b"\xff\xd8"])
            reply = sock.recv_multipart()
            assert len(reply) == 2 and reply[1].startswith(protocol.ERROR_REPLY_PREFIX), reply
            assert b"ack" in reply[1]
    finally:
        sock.close()
    assert frames == [] and receiver.malformed == 5


def test_default_window_is_sized_to_the_frames(
    counted: tuple[Receiver, list[Frame]], jpeg: bytes, image: object
) -> None:
    """``Sender()`` keeps about AUTO_IN_FLIGHT bytes in flight: many small JPEGs, few
    large raw frames, and asks for credit to match; every frame still arrives."""
    from camhub.sender import AUTO_IN_FLIGHT, AUTO_WINDOW

    receiver, frames = counted
    with camhub.Sender(receiver.endpoints[0], timeout=5.0) as sender:
        for _ in range(100):
            assert sender.send_jpeg("small", jpeg)
            assert sender.in_flight <= sender.limit
        assert sender.limit == min(AUTO_WINDOW[1], max(AUTO_WINDOW[0], AUTO_IN_FLIGHT // len(jpeg)))
        assert sender.ack_every == sender.limit // 2
        assert sender.flush()
        for _ in range(20):
            assert sender.send_image("big", image)  # 921,600 bytes
            assert sender.in_flight <= AUTO_WINDOW[0]
        assert (sender.limit, sender.ack_every) == (AUTO_WINDOW[0], AUTO_WINDOW[0] // 2)
        assert sender.flush()
        assert sender.stats.sent == sender.stats.acked == 120
    assert len(frames) == 120
    assert receiver.replies < 120 // 2 + 10, receiver.replies


def test_compat_sender_headers_are_exactly_imagezmqs(image: object, jpeg: bytes) -> None:
    """The drop-in ImageSender sends imagezmq's header keys and nothing else (no stamps)."""
    import json

    ctx = zmq.Context.instance()
    rep = ctx.socket(zmq.REP)
    rep.setsockopt(zmq.LINGER, 0)
    rep.setsockopt(zmq.RCVTIMEO, 5000)
    port = rep.bind_to_random_port("tcp://127.0.0.1")
    headers: list[dict[str, object]] = []

    def serve() -> None:
        for _ in range(2):
            parts = rep.recv_multipart()
            headers.append(json.loads(parts[0]))
            rep.send(b"OK")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with camhub.ImageSender(f"tcp://127.0.0.1:{port}") as sender:
        assert sender.send_jpg("j", jpeg) == b"OK"
        assert sender.send_image("r", image) == b"OK"
    thread.join(5)
    rep.close()
    assert headers == [
        {"msg": "j"},
        {"msg": "r", "dtype": "uint8", "shape": [480, 640, 3]},
    ]
