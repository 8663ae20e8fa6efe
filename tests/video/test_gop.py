"""Latest-frame semantics at group granularity, on real H.264 packets: the queue and the
sender's gate drop the rest of a group, never a P-frame alone, and count it."""

from __future__ import annotations

import threading

import pytest

from camhub import Frame
from camhub.errors import ReceiveTimeout, SlotClosed
from camhub.video import VideoPacket
from camhub.video.gop import Gop, GopGate, GopQueue, independent
from tests.video.media import h264_stream

_, PACKETS = h264_stream(40, gop=10)  # keyframes at 0, 10, 20, 30


def frame(i: int, name: str = "cam") -> Frame:
    return Frame(name, video=PACKETS[i], seq=i)


def jpeg_frame(name: str = "cam") -> Frame:
    return Frame(name, jpeg=b"\xff\xd8 not decoded here")


def test_stream_has_keyframes_where_the_tests_expect_them() -> None:
    assert [i for i, p in enumerate(PACKETS) if p.keyframe] == [0, 10, 20, 30]
    assert independent(frame(10)) and not independent(frame(11)) and independent(jpeg_frame())


def drain(queue: GopQueue) -> list[Frame]:
    out = []
    while True:
        try:
            out.append(queue.get(timeout=0))
        except ReceiveTimeout:
            return out


def test_queue_keeps_a_group_in_order_while_there_is_room() -> None:
    queue = GopQueue(maxsize=64)
    for i in range(10):
        assert not queue.put(frame(i))
    assert [f.seq for f in drain(queue)] == list(range(10))
    assert queue.dropped == 0


def test_full_queue_drops_the_rest_of_the_group_and_asks_for_a_keyframe() -> None:
    asked: list[str] = []
    queue = GopQueue(maxsize=4, on_keyframe_needed=asked.append)
    dropped: list[Frame] = []
    for i in range(10):
        dropped += queue.put(frame(i))
    # 0..3 fit; 4 does not: 4..9 go (the rest of the group), never one P-frame alone.
    assert [f.seq for f in dropped] == [4, 5, 6, 7, 8, 9]
    assert queue.gop_drops == 6 and asked == ["cam"]  # asked once per cut
    queue.put(frame(10))  # the next keyframe supersedes the stale group and resumes
    assert [f.seq for f in drain(queue)] == [10]
    assert queue.superseded == 4 and queue.dropped == 10


def test_keyframe_supersedes_a_queued_group_only_in_a_latest_frame_queue() -> None:
    latest, every = GopQueue(), GopQueue(supersede=False)
    for queue in (latest, every):
        for i in range(5, 12):
            queue.put(frame(i))
    assert [f.seq for f in drain(latest)] == [10, 11]
    assert [f.seq for f in drain(every)] == [5, 6, 7, 8, 9, 10, 11]


def test_pictures_keep_latest_frame_semantics_per_camera() -> None:
    queue = GopQueue()
    a1, a2, b1 = jpeg_frame("a"), jpeg_frame("a"), jpeg_frame("b")
    for f in (a1, b1, a2):
        queue.put(f)
    assert drain(queue) == [b1, a2] and queue.superseded == 1


def test_eviction_takes_the_frames_that_depend_on_the_evicted_one() -> None:
    queue = GopQueue(maxsize=6, supersede=False)
    for i in range(3):
        queue.put(frame(i, "a"))  # a group of camera a: K P P
    for _ in range(3):
        queue.put(jpeg_frame("b"))
    # A picture of b needs room: a's keyframe goes, and with it a's P-frames.
    dropped = queue.put(jpeg_frame("b"))
    assert [(f.name, f.seq) for f in dropped] == [("a", 0), ("a", 1), ("a", 2)]
    late = frame(3, "a")
    assert list(queue.put(late)) == [late]  # a stays cut until its next keyframe
    assert [f.name for f in drain(queue)] == ["b"] * 4


def test_byte_bound() -> None:
    size = sum(len(p.data) for p in PACKETS[:3])
    queue = GopQueue(maxsize=100, max_bytes=size)
    for i in range(5):
        queue.put(frame(i))
    assert [f.seq for f in drain(queue)] == [0, 1, 2] and queue.gop_drops == 2


def test_get_waits_and_close_wakes() -> None:
    queue = GopQueue()
    with pytest.raises(ReceiveTimeout):
        queue.get(timeout=0.01)
    got: list[object] = []
    thread = threading.Thread(target=lambda: got.append(queue.get(timeout=10)))
    thread.start()
    queue.put(frame(0))
    thread.join(10)
    assert got and got[0] is queue.peek()
    queue.close()
    with pytest.raises(SlotClosed):
        queue.get(timeout=10)


def test_gate_holds_p_frames_until_a_keyframe_after_a_loss_or_reset() -> None:
    asked: list[str] = []
    gate = GopGate(asked.append)
    assert not gate.admit(frame(5))  # a receiver that has nothing starts at a keyframe
    assert asked == ["cam"]
    assert not gate.admit(frame(6)) and asked == ["cam"]  # asked once
    assert gate.admit(frame(10)) and gate.admit(frame(11))
    gate.lose("cam")  # frame 11 did not arrive
    assert not gate.admit(frame(12)) and asked == ["cam", "cam"]
    assert gate.admit(frame(20)) and gate.admit(frame(21))
    gate.reset()  # reconnected
    assert asked == ["cam"] * 3 and not gate.admit(frame(22))
    assert gate.admit(frame(30))
    assert gate.admit(jpeg_frame()) and not gate.admit(frame(31))  # a JPEG ends the chain
    assert asked == ["cam"] * 4  # and the keyframe asked for may have become that JPEG
    assert gate.held == 5


def test_gop_is_bounded_and_notices_gaps() -> None:
    gop = Gop(frame(0), start=1)
    assert gop.follows(frame(1)) and not gop.follows(frame(2))
    for i in range(1, 4):
        assert gop.add(frame(i), max_frames=3, max_bytes=10**9) is (i < 3)
    assert gop.cut and gop.frames == [] and gop.nbytes == 0
    unnumbered = Frame("cam", video=VideoPacket("h264", PACKETS[5].data, False))
    assert gop.follows(unnumbered)
