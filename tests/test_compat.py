"""ImageSender/ImageHub: imagezmq's API with camhub's improvements."""

from __future__ import annotations

import threading
import time
from typing import Any

import imagezmq
import numpy as np
import pytest
import zmq

import camhub
from tests.conftest import last_endpoint, wait_until

pytestmark = pytest.mark.timeout(30)


def test_recv_timeout_instead_of_waiting_forever() -> None:
    # imagezmq's recv_image blocks for good; this one gives up after its timeout.
    with camhub.ImageHub("tcp://127.0.0.1:0") as hub, pytest.raises(TimeoutError):
        hub.recv_image(timeout=0.2)


def test_recv_image_decodes_jpeg_and_recv_jpg_returns_raw_bytes(
    image: np.ndarray, jpeg: bytes
) -> None:
    with camhub.ImageHub("tcp://127.0.0.1:0") as hub, camhub.ImageSender(hub.endpoint) as sender:
        t = threading.Thread(
            target=lambda: (sender.send_jpg("j", jpeg), sender.send_image("r", image))
        )
        t.start()
        name, arr = hub.recv_image(timeout=5)
        hub.send_reply()
        assert name == "j" and arr.shape == (480, 640, 3)
        assert np.array_equal(arr, camhub.decode_jpeg(jpeg))
        name, jpg = hub.recv_jpg(timeout=5)
        hub.send_reply()
        t.join(5)
        # As imagezmq: recv_jpg hands back the payload as it travelled.
        assert name == "r" and jpg == image.tobytes()


def test_send_jpg_accepts_cv2_imencode_output(jpeg: bytes) -> None:
    buf = np.frombuffer(jpeg, np.uint8)  # what cv2.imencode returns
    with camhub.Hub("tcp://127.0.0.1:0") as hub, camhub.ImageSender(hub.endpoint) as sender:
        assert sender.send_jpg("cv2", buf) == b"OK"
        frame = hub.latest("cv2")
        assert frame is not None and frame.jpeg == jpeg


def test_malformed_message_is_answered_and_skipped(jpeg: bytes) -> None:
    evil = zmq.Context.instance().socket(zmq.REQ)
    evil.setsockopt(zmq.LINGER, 0)
    with camhub.ImageHub("tcp://127.0.0.1:0") as hub, camhub.ImageSender(hub.endpoint) as good:
        try:
            evil.connect(hub.endpoint)
            evil.send_multipart([b"garbage", b"x"])
            assert hub.zmq_socket.poll(2000)
            with pytest.raises(TimeoutError):  # the bad message is answered, never returned
                hub.recv_jpg(timeout=0.3)
            assert hub.malformed == 1
            assert evil.poll(2000) and evil.recv().startswith(b"ERR header is not valid JSON")
            t = threading.Thread(target=good.send_jpg, args=("ok", jpeg))
            t.start()
            name, got = hub.recv_jpg(timeout=5)
            hub.send_reply()
            t.join(5)
            assert name == "ok" and got == jpeg
        finally:
            evil.close()


def test_send_reply_without_a_pending_frame_is_harmless(caplog: pytest.LogCaptureFixture) -> None:
    with camhub.ImageHub("tcp://127.0.0.1:0") as hub:
        hub.send_reply(b"OK")
    assert "no frame waiting" in caplog.text


def test_pubsub_hub_returns_newest_per_camera_not_a_backlog(image: np.ndarray) -> None:
    pub = imagezmq.ImageSender("tcp://127.0.0.1:*", REQ_REP=False)  # imagezmq's own PUB
    hub = camhub.ImageHub(last_endpoint(pub.zmq_socket), REQ_REP=False)
    try:

        def joined() -> bool:
            pub.send_image("warmup", image[:8, :8])
            try:
                hub.recv_image(timeout=0.05)
            except TimeoutError:
                return False
            return True

        wait_until(joined)
        for i in range(6):  # a burst, as when the receiver was busy
            pub.send_image("a", np.full((4, 4), i, np.uint8))
            pub.send_image("b", np.full((4, 4), 10 + i, np.uint8))
        time.sleep(0.3)
        got = {}
        while True:
            try:
                name, arr = hub.recv_image(timeout=0.3)
            except TimeoutError:
                break
            if name in ("a", "b"):
                got[name] = int(arr[0, 0])
    finally:
        hub.close()
        pub.close()
    # Only the newest frame of each camera is handed out, the rest counted as skipped.
    assert got == {"a": 5, "b": 15}
    assert hub.skipped >= 10


def test_compat_attributes_exist(hub: camhub.Hub) -> None:
    sender = camhub.ImageSender(hub.endpoint)
    assert sender.zmq_socket.type == zmq.REQ and sender.zmq_context is not None  # as imagezmq
    sender.close()
    sender.close()  # idempotent, never blocks


def test_a_frame_never_replied_to_gets_an_err_not_a_hang(jpeg: bytes) -> None:
    # imagezmq's REP hub raises if the caller receives again without replying; camhub
    # answers the forgotten frame with an ERR so its sender is not left waiting.
    replies: list[bytes] = []
    with camhub.ImageHub("tcp://127.0.0.1:0") as hub:
        sender = imagezmq.ImageSender(connect_to=hub.endpoint)
        sender.zmq_socket.setsockopt(zmq.RCVTIMEO, 10_000)
        try:
            t = threading.Thread(
                target=lambda: replies.extend(
                    [sender.send_jpg("a", jpeg), sender.send_jpg("b", jpeg)]
                )
            )
            t.start()
            assert hub.recv_jpg(timeout=5)[0] == "a"  # and no send_reply()
            assert hub.recv_jpg(timeout=5)[0] == "b"
            hub.send_reply(b"thanks")
            t.join(10)
        finally:
            sender.zmq_socket.close(linger=0)
            sender.zmq_context.term()
    assert replies == [b"ERR the hub did not reply to this frame", b"thanks"]


def _dealer_replies(
    endpoint: str, envelopes: list[list[bytes]], message: list[bytes]
) -> list[list[bytes] | None]:
    """What a DEALER gets back for ``message`` behind each envelope (None: no reply)."""
    got: list[list[bytes] | None] = []
    dealer = zmq.Context.instance().socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.connect(endpoint)
    try:
        for envelope in envelopes:
            dealer.send_multipart([*envelope, *message])
            got.append(dealer.recv_multipart() if dealer.poll(1500) else None)
    finally:
        dealer.close()
    return got


def test_replies_go_back_by_the_envelope_as_from_imagezmqs_rep_hub(image: np.ndarray) -> None:
    # The ROUTER-based hub keeps what REQ (or a proxy) put before the message and answers
    # by it, as imagezmq's REP hub does; what has no delimiter gets no answer from either.
    message = [b'{"msg": "cam", "dtype": "uint8", "shape": [2, 2]}', bytes(4)]
    envelopes = [[b""], [b"hop", b""], [b"a", b"b", b""], [b"no delimiter"], []]
    results = {}
    for name, hub in (
        ("imagezmq", imagezmq.ImageHub("tcp://127.0.0.1:*")),
        ("camhub", camhub.ImageHub("tcp://127.0.0.1:0")),
    ):
        hub.zmq_socket.setsockopt(zmq.RCVTIMEO, 100)  # imagezmq's recv then raises Again
        endpoint = hub.zmq_socket.getsockopt_string(zmq.LAST_ENDPOINT)
        stop = threading.Event()
        recv = hub.recv_image if name == "imagezmq" else lambda h=hub: h.recv_image(timeout=0.1)

        def serve(hub: Any = hub, recv: Any = recv, stop: threading.Event = stop) -> None:
            while not stop.is_set():
                try:
                    recv()
                except (zmq.Again, TimeoutError):
                    continue
                hub.send_reply(b"R")

        t = threading.Thread(target=serve)
        t.start()
        try:
            results[name] = _dealer_replies(endpoint, envelopes, message)
        finally:
            stop.set()
            t.join(5)
            assert not t.is_alive()
            hub.zmq_socket.close(linger=0)
            if name == "imagezmq":
                hub.zmq_context.term()
        if name == "camhub":
            assert hub.malformed == 2  # counted, not answered
    assert results["camhub"] == results["imagezmq"]
    assert results["camhub"] == [
        [b"", b"R"],
        [b"hop", b"", b"R"],
        [b"a", b"b", b"", b"R"],
        None,
        None,
    ]


def test_an_envelope_of_more_than_64_hops_is_dropped_and_counted() -> None:
    # A deliberate refusal (docs/protocol.md): REP would keep any number of hops, but no
    # sender sends 65, and the hub must not keep what a hostile message piles up.
    message = [b'{"msg": "cam"}', b"x"]
    with camhub.ImageHub("tcp://127.0.0.1:0") as hub:
        hops = [[b"h%d" % i for i in range(n)] + [b""] for n in (64, 65)]

        def serve() -> None:
            for _ in range(2):
                try:
                    hub.recv_jpg(timeout=2)
                except TimeoutError:
                    continue
                hub.send_reply(b"R")

        t = threading.Thread(target=serve)
        t.start()
        got = _dealer_replies(hub.endpoint, hops, message)
        t.join(5)
    assert got[0] == [*hops[0], b"R"] and got[1] is None
    assert hub.malformed == 1


def test_a_str_reply_raises_and_leaves_the_hub_serving(jpeg: bytes) -> None:
    # As with imagezmq, send_reply("OK") raises TypeError (ZeroMQ sends bytes). The
    # frame is then answered ERR at the next receive, and the hub keeps serving: the
    # reply is checked before any part of it goes out.
    replies: list[bytes] = []
    with camhub.ImageHub("tcp://127.0.0.1:0") as hub:
        sender = imagezmq.ImageSender(connect_to=hub.endpoint)
        sender.zmq_socket.setsockopt(zmq.RCVTIMEO, 10_000)
        try:
            t = threading.Thread(
                target=lambda: replies.extend(sender.send_jpg(n, jpeg) for n in "abc")
            )
            t.start()
            assert hub.recv_jpg(timeout=5)[0] == "a"
            with pytest.raises(TypeError):
                hub.send_reply("OK")  # type: ignore[arg-type]
            for name in "bc":
                assert hub.recv_jpg(timeout=5)[0] == name
                hub.send_reply(b"OK")
            t.join(10)
        finally:
            sender.zmq_socket.close(linger=0)
            sender.zmq_context.term()
    assert replies == [b"ERR the hub did not reply to this frame", b"OK", b"OK"]
