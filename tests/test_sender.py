"""Senders never hang: timeouts, dead hubs, restarted hubs, pipelining, PUB topologies."""

from __future__ import annotations

import numpy as np
import pytest
import zmq

import camhub
from camhub.sender import BackgroundSender
from tests.conftest import IMAGEZMQ, start_peer, start_peer_ready, stop_peer, wait_until

pytestmark = pytest.mark.timeout(60)


def test_send_to_absent_hub_drops_within_timeout(
    dead_port: int, image: np.ndarray, caplog: pytest.LogCaptureFixture
) -> None:
    with camhub.ImageSender(f"tcp://127.0.0.1:{dead_port}", timeout=0.3) as sender:
        # Each send gives up after its timeout (a send that blocked would hit the test's
        # timeout); the drops are counted, not hidden.
        outcomes = [sender.send_image("cam", image) for _ in range(3)]
        assert outcomes == [None] * 3
        assert sender.stats.dropped == 3 and sender.stats.timeouts == 3
    # One warning per outage, not one per frame.
    assert len([r for r in caplog.records if "not reachable" in r.getMessage()]) == 1


def test_raise_mode_raises_send_timeout(dead_port: int, image: np.ndarray) -> None:
    with (
        camhub.ImageSender(
            f"tcp://127.0.0.1:{dead_port}", timeout=0.2, on_timeout="raise"
        ) as sender,
        pytest.raises(camhub.SendTimeout, match=r"within 0\.2 s"),
    ):
        sender.send_image("cam", image)


def test_hub_that_accepts_but_never_replies_times_out(image: np.ndarray) -> None:
    ctx = zmq.Context.instance()
    silent = ctx.socket(zmq.ROUTER)
    port = silent.bind_to_random_port("tcp://127.0.0.1")
    try:
        with camhub.ImageSender(f"tcp://127.0.0.1:{port}", timeout=0.3) as sender:
            assert sender.send_image("cam", image) is None  # not blocked on the reply
            assert sender.stats.reconnects == 1 and sender.stats.timeouts == 1
    finally:
        silent.close(0)


def test_bad_addresses_fail_at_once_with_clear_errors() -> None:
    for bad, why in [
        ("127.0.0.1:5555", "expected tcp://HOST:PORT"),
        ("tcp://host", "expected tcp://HOST:PORT"),
        ("tcp://*:5555", "only works for binding"),
        ("tcp://127.0.0.1:70000", "outside 1..65535"),
        ("http://127.0.0.1:5555", "expected tcp://HOST:PORT"),
    ]:
        with pytest.raises(camhub.AddressError, match=why):
            camhub.Sender(bad)


@IMAGEZMQ
def test_sender_resumes_by_itself_after_hub_is_killed_and_restarted(image: np.ndarray) -> None:
    hub, (endpoint,) = start_peer_ready("hub_process.py", "tcp://127.0.0.1:0")
    sender = camhub.ImageSender(endpoint, timeout=0.5)
    small = image[:120, :160].copy()
    try:
        assert sender.send_image("cam", small) == b"OK"
        stop_peer(hub)  # SIGKILL: no goodbye on the wire
        outcomes = [sender.send_image("cam", small) for _ in range(4)]
        assert outcomes == [None] * 4
        assert sender.stats.timeouts == 4
        hub = start_peer("hub_process.py", endpoint)  # the same port again
        wait_until(lambda: sender.send_image("cam", small) == b"OK", 20, "a frame delivered")
        assert sender.stats.dropped >= 4
    finally:
        sender.close()
        stop_peer(hub)


def test_pipelined_sender_survives_hub_restart_in_process(jpeg: bytes) -> None:
    hub = camhub.Hub("tcp://127.0.0.1:0").start()
    endpoint = hub.endpoint
    sender = camhub.Sender(endpoint, window=8, timeout=0.5)
    try:
        for _ in range(50):
            sender.send_jpeg("p", jpeg)
        assert sender.flush()
        hub.stop()
        sent = [sender.send_jpeg("p", jpeg) for _ in range(20)]  # none blocks for good
        assert sender.stats.dropped >= 20 - 8, (sent, sender.stats)
        hub = camhub.Hub(endpoint).start()
        wait_until(lambda: sender.send_jpeg("p", jpeg) and hub.latest("p") is not None, 10)
    finally:
        sender.close()
        hub.stop()


def test_window_limits_frames_in_flight(hub: camhub.Hub, jpeg: bytes) -> None:
    with camhub.Sender(hub.endpoint, window=3) as sender:
        for _ in range(30):
            sender.send_jpeg("w", jpeg)
            assert sender.in_flight <= 3
        assert sender.flush()
        assert sender.stats.sent == sender.stats.acked == 30
    wait_until(lambda: (s := hub.camera_stats("w")) is not None and s.frames == 30)
    stats = hub.camera_stats("w")
    assert stats is not None and stats.dropped == 0


def test_hub_error_replies_are_counted_as_refused(hub: camhub.Hub) -> None:
    with camhub.Sender(hub.endpoint, window=1) as sender:
        sender.send_frame(camhub.Frame(name="bad", jpeg=b"not a jpeg", width=1, height=1))
        assert sender.flush()
        assert sender.stats.refused == 1 and sender.last_reply is not None
        assert sender.last_reply.startswith(b"ERR ")


def test_publisher_connecting_to_hub_that_binds(jpeg: bytes) -> None:
    """NAT-friendly topology: the hub binds a SUB socket, senders connect to it."""
    hub = camhub.Hub(None, sub_bind="tcp://127.0.0.1:0").start()
    pub = camhub.Publisher(hub.endpoint, bind=False)
    try:
        wait_until(lambda: pub.send_jpeg("nat", jpeg) and hub.latest("nat") is not None)
        frame = hub.latest("nat")
        assert frame is not None and frame.jpeg == jpeg and frame.seq is not None
    finally:
        pub.close()
        hub.stop()


def test_background_sender_always_sends_newest(hub: camhub.Hub, image: np.ndarray) -> None:
    bg = BackgroundSender(camhub.Sender(hub.endpoint, window=2), quality=80)
    try:
        for i in range(200):
            frame = camhub.Frame(name="bg", array=image, seq=i)
            bg.offer(frame)
        wait_until(lambda: (f := hub.latest("bg")) is not None and f.seq == 199)
        latest = hub.latest("bg")
        assert latest is not None and latest.encoding == "jpeg"
        stats = hub.camera_stats("bg")
        assert stats is not None
        # Every frame was either delivered or counted as superseded; none vanished.
        assert stats.frames + bg.superseded == 200
    finally:
        bg.close()
