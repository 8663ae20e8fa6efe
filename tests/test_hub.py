"""The hub: many senders on one socket, dead and hostile peers, health, consumers."""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import camhub
from camhub.types import HubEvent
from tests.conftest import IMAGEZMQ, start_peer, stop_peer, wait_until

pytestmark = pytest.mark.timeout(60)


def frames_of(hub: camhub.Hub, name: str) -> int:
    stats = hub.camera_stats(name)
    return 0 if stats is None else stats.frames


def test_many_senders_share_one_socket_with_per_camera_stats(
    hub: camhub.Hub, jpeg: bytes, image: np.ndarray
) -> None:
    senders = [camhub.Sender(hub.endpoint, window=2) for _ in range(4)]
    try:
        for _ in range(10):
            for i, s in enumerate(senders):
                if i % 2:
                    s.send_jpeg(f"cam{i}", jpeg)
                else:
                    s.send_image(f"cam{i}", image[:48, :64])
        for s in senders:
            assert s.flush()
    finally:
        for s in senders:
            s.close()
    assert hub.camera_names() == ["cam0", "cam1", "cam2", "cam3"]
    by_name = {s.name: s for s in hub.stats()}
    assert all(s.frames == 10 and s.online and s.dropped == 0 for s in by_name.values())
    assert by_name["cam1"].encoding == "jpeg" and (
        by_name["cam1"].width,
        by_name["cam1"].height,
    ) == (640, 480)
    assert by_name["cam0"].encoding == "raw" and (
        by_name["cam0"].width,
        by_name["cam0"].height,
    ) == (64, 48)
    assert by_name["cam1"].bytes == 10 * len(jpeg)
    assert by_name["cam0"].peer == "127.0.0.1"
    assert by_name["cam0"].age_ms is not None and by_name["cam0"].age_ms >= 0


def test_gaps_in_sequence_numbers_count_as_dropped(hub: camhub.Hub, jpeg: bytes) -> None:
    with camhub.Sender(hub.endpoint, window=1) as s:
        for seq in (0, 1, 5, 6):
            s.send_frame(camhub.Frame(name="gappy", jpeg=jpeg, seq=seq))
        assert s.flush()
    stats = hub.camera_stats("gappy")
    assert stats is not None and stats.frames == 4 and stats.dropped == 3


@IMAGEZMQ
def test_killed_sender_does_not_disturb_others(hub: camhub.Hub, jpeg: bytes) -> None:
    doomed = [
        start_peer("sender_process.py", kind, hub.endpoint, f"doomed-{kind}")
        for kind in ("camhub", "imagezmq")
    ]
    try:
        wait_until(
            lambda: frames_of(hub, "doomed-camhub") > 5 and frames_of(hub, "doomed-imagezmq") > 5
        )
        for p in doomed:
            stop_peer(p)
        with camhub.Sender(hub.endpoint, window=4, timeout=1.0) as good:
            for _ in range(100):
                assert good.send_jpeg("survivor", jpeg)
            assert good.flush()
        assert frames_of(hub, "survivor") == 100
    finally:
        for p in doomed:
            stop_peer(p)


def test_camera_goes_offline_and_back_online_with_events(
    hub: camhub.Hub, jpeg: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="camhub")
    events: list[HubEvent] = []
    hub.add_listener(events.append)
    with camhub.Sender(hub.endpoint, window=1) as s:
        s.send_jpeg("blinky", jpeg)
        assert s.flush()
        wait_until(lambda: any(e.kind == "camera_offline" for e in events), timeout=4)
        stats = hub.camera_stats("blinky")
        assert stats is not None and not stats.online
        s.send_jpeg("blinky", jpeg)
        assert s.flush()
    wait_until(lambda: any(e.kind == "camera_online" for e in events))
    assert [e.kind for e in events] == ["camera_new", "camera_offline", "camera_online"]
    text = caplog.text
    assert "camera blinky offline since" in text and "camera blinky back online after" in text


def test_malformed_messages_get_error_reply_and_are_counted(hub: camhub.Hub, jpeg: bytes) -> None:
    ctx = zmq.Context.instance()
    evil = ctx.socket(zmq.REQ)
    evil.setsockopt(zmq.LINGER, 0)
    evil.setsockopt(zmq.RCVTIMEO, 3000)
    evil.connect(hub.endpoint)
    try:
        evil.send_multipart([b"{not json", b"payload"])
        assert evil.recv().startswith(b"ERR header is not valid JSON")
        evil.send_multipart([b'{"msg": "x", "dtype": "uint8", "shape": [9999, 9999, 3]}', b"tiny"])
        assert b"need" in evil.recv()
        evil.send(b"single frame")
        assert evil.recv().startswith(b"ERR expected 2 message frames")
    finally:
        evil.close()
    with camhub.Sender(hub.endpoint, window=1) as good:
        assert good.send_jpeg("good", jpeg) and good.flush()
    assert hub.malformed == 3 and frames_of(hub, "good") == 1
    assert sum(p.malformed for p in hub.peer_stats()) == 3


def test_a_malformed_frame_counts_against_the_camera_its_header_names(
    hub: camhub.Hub, jpeg: bytes
) -> None:
    with camhub.Sender(hub.endpoint, window=1) as good:
        assert good.send_jpeg("door", jpeg) and good.flush()
    events: list[HubEvent] = []
    hub.add_listener(events.append)
    ctx = zmq.Context.instance()
    evil = ctx.socket(zmq.REQ)
    evil.setsockopt(zmq.LINGER, 0)
    evil.setsockopt(zmq.RCVTIMEO, 3000)
    evil.connect(hub.endpoint)
    try:
        # A good header naming the camera, a payload that does not match it.
        evil.send_multipart([b'{"msg": "door", "width": 64, "height": 48}', jpeg])
        assert evil.recv().startswith(b"ERR header says 64x48")
        evil.send_multipart([b'{"msg": "door", "dtype": "uint8", "shape": [4, 4]}', b"short"])
        assert evil.recv().startswith(b"ERR")
        # Garbage naming a camera the hub never saw does not make it a camera...
        evil.send_multipart([b'{"msg": "ghost", "dtype": "uint8", "shape": [4, 4]}', b"x"])
        assert evil.recv().startswith(b"ERR")
        # ...and a header that does not read names no camera at all.
        evil.send_multipart([b"{not json", jpeg])
        assert evil.recv().startswith(b"ERR")
    finally:
        evil.close()
    door = hub.camera_stats("door")
    assert door is not None and door.malformed == 2 and door.frames == 1
    assert hub.camera_names() == ["door"]
    assert hub.malformed == 4
    wait_until(lambda: len(events) == 4)
    assert [e.camera for e in events] == ["door", "door", "ghost", None]
    assert all(e.kind == "malformed" for e in events)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(parts=st.lists(st.binary(max_size=200), min_size=0, max_size=5))
def test_hub_survives_fuzzed_multipart_messages(
    hub: camhub.Hub, jpeg: bytes, parts: list[bytes]
) -> None:
    ctx = zmq.Context.instance()
    raw = ctx.socket(zmq.DEALER)
    raw.setsockopt(zmq.LINGER, 0)
    raw.connect(hub.endpoint)
    try:
        raw.send_multipart([b"", *parts] if parts else [b""])
        assert raw.poll(3000), "hub did not answer a fuzzed message"
        raw.recv_multipart()
    finally:
        raw.close()
    assert hub.running


def test_hub_still_serves_after_fuzzing(hub: camhub.Hub, jpeg: bytes) -> None:
    ctx = zmq.Context.instance()
    raw = ctx.socket(zmq.DEALER)
    raw.setsockopt(zmq.LINGER, 0)
    raw.connect(hub.endpoint)
    for i in range(500):
        raw.send_multipart([b"", bytes([i % 256]) * (i % 7), b"\xff\xd8" * (i % 3)])
    with camhub.Sender(hub.endpoint, window=1, timeout=5) as good:
        assert good.send_jpeg("after-fuzz", jpeg) and good.flush()
    raw.close()
    wait_until(lambda: hub.malformed == 500)


def test_slow_consumer_sees_only_fresh_frames_and_counts_skips(
    hub: camhub.Hub, jpeg: bytes
) -> None:
    stop = threading.Event()

    def produce() -> None:
        with camhub.Sender(hub.endpoint, window=4) as s:
            while not stop.is_set():
                s.send_jpeg("fast", jpeg)
                time.sleep(0.002)

    t = threading.Thread(target=produce, daemon=True)
    t.start()
    wait_until(lambda: hub.latest("fast") is not None)
    feed = hub.frames()
    seqs: list[tuple[int, int]] = []
    try:
        for _ in range(16):
            newest = hub.latest("fast")
            assert newest is not None and newest.seq is not None
            frame = feed.next(timeout=5)
            assert frame.seq is not None
            seqs.append((newest.seq, frame.seq))
            time.sleep(0.05)  # a slow consumer
    finally:
        stop.set()
        t.join(5)
    # The feed never hands out a frame older than the newest one already received when
    # it was asked: no backlog, whatever the machine's speed.
    assert all(got >= newest for newest, got in seqs)
    delivered = [got for _, got in seqs]
    assert delivered == sorted(set(delivered))
    # Every frame that arrived between two deliveries was skipped, and counted.
    assert feed.skipped_total >= delivered[-1] - delivered[0] + 1 - len(delivered)
    assert feed.skipped_total > 0 and feed.delivered == 16


def test_frames_feed_round_robins_cameras(hub: camhub.Hub, jpeg: bytes) -> None:
    with camhub.Sender(hub.endpoint, window=4) as s:
        for name in ("a", "b", "c"):
            s.send_jpeg(name, jpeg)
        assert s.flush()
    got = [f.name for f in hub.frames(timeout=0.3)]
    assert sorted(got) == ["a", "b", "c"]


def test_wait_newer(hub: camhub.Hub, jpeg: bytes) -> None:
    assert hub.wait_newer("nobody", 0, timeout=0.1) is None
    with camhub.Sender(hub.endpoint, window=1) as s:
        s.send_jpeg("w", jpeg)
        s.flush()
    got = hub.wait_newer("w", 0, timeout=1)
    assert got is not None and got[1] == 1 and got[0].jpeg == jpeg
    assert hub.wait_newer("w", 1, timeout=0.1) is None


def test_bind_conflict_is_a_clear_error() -> None:
    with (
        camhub.Hub("tcp://127.0.0.1:0") as first,
        pytest.raises(camhub.AddressError, match="cannot listen"),
    ):
        camhub.Hub(first.endpoint)


def test_hub_connect_adds_imagezmq_style_publishers(image: np.ndarray) -> None:
    pub = camhub.Publisher("tcp://127.0.0.1:0", bind=True)
    hub = camhub.Hub(None, subscribe_to=[])
    hub.connect(pub.address)
    hub.start()
    try:
        wait_until(
            lambda: pub.send_image("late", image[:10, :10]) and hub.latest("late") is not None
        )
    finally:
        hub.stop()
        pub.close()


def test_stop_is_prompt(jpeg: bytes) -> None:
    hub = camhub.Hub("tcp://127.0.0.1:0").start()
    thread = hub.receiver._thread
    assert thread is not None and thread.is_alive()
    hub.stop()
    # stop() joins the receive thread for at most 5 s: it returned because the thread
    # saw the stop and ended, not because the join gave up on a thread stuck in a recv.
    assert not thread.is_alive()


def test_hub_serves_request_reply_and_pub_sub_at_once(jpeg: bytes) -> None:
    """With two sockets the receive loop polls both; neither starves the other."""
    hub = camhub.Hub("tcp://127.0.0.1:0", sub_bind="tcp://127.0.0.1:0").start()
    sender = camhub.Sender(hub.endpoints[0], window=4, timeout=2)
    pub = camhub.Publisher(hub.endpoints[1], bind=False)
    try:
        for _ in range(50):
            assert sender.send_jpeg("req", jpeg)
        assert sender.flush()
        wait_until(lambda: pub.send_jpeg("pub", jpeg) and hub.latest("pub") is not None)
        assert sender.stats.acked == 50
        assert hub.camera_stats("req") is not None
    finally:
        pub.close()
        sender.close()
        hub.stop()
