"""A video camera in the hub's store: pictures made only on demand, by a decoder off the
ingest path, equal to what FFmpeg's own decoder makes; groups that lost a packet never
decoded; late joiners served from the group the store keeps."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from camhub import CameraStore, Frame, VideoError
from camhub.video import VideoPacket
from camhub.video.track import VideoSettings
from tests.conftest import wait_until
from tests.video.media import ffmpeg_pictures, h264_stream, psnr

SOURCE, PACKETS = h264_stream(20, gop=5)  # keyframes at 0, 5, 10, 15
PICTURES = ffmpeg_pictures(PACKETS)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store() -> Iterator[CameraStore]:
    s = CameraStore().start()
    yield s
    s.stop()


def frame(i: int, seq: int | None = None) -> Frame:
    f = Frame("cam", video=PACKETS[i], seq=i if seq is None else seq, captured_at=float(i))
    f.width, f.height = 320, 240
    return f


def test_ffmpeg_reference_is_what_the_source_shows() -> None:
    assert len(PICTURES) == len(PACKETS)
    assert min(psnr(a, b) for a, b in zip(PICTURES, SOURCE, strict=True)) > 30


def test_picture_readers_get_every_picture_ffmpeg_makes(store: CameraStore) -> None:
    count = 0
    for i in range(len(PACKETS)):
        store.put(frame(i), "peer")
        got = store.wait_newer("cam", count, timeout=10)
        assert got is not None
        picture, count = got
        assert count == i + 1 and picture.seq == i and picture.encoding == "h264"
        assert np.array_equal(picture.image, PICTURES[i])
        assert picture.video is PACKETS[i] and picture.captured_at == float(i)
    stats = store.camera_stats("cam")
    assert stats is not None and stats.decoding and stats.broken == stats.undecoded == 0
    assert stats.encoding == "h264" and (stats.width, stats.height) == (320, 240)


def test_no_decoder_runs_until_someone_wants_pictures(store: CameraStore) -> None:
    for i in range(8):
        store.put(frame(i), "peer")
    stats = store.camera_stats("cam")
    assert stats is not None and not stats.decoding
    # A late joiner: the store kept the group since keyframe 5, so the newest picture decodes.
    latest = store.latest("cam")
    assert latest is not None and latest.seq == 7
    assert np.array_equal(latest.image, PICTURES[7])
    assert store.camera_stats("cam").decoding  # type: ignore[union-attr]


def test_frames_from_subscriptions_and_old_groups_decode_too(store: CameraStore) -> None:
    sub = store.subscribe(["cam"])
    for i in range(13):
        store.put(frame(i), "peer")
    frames = [sub.get(1) for _ in range(13)]
    # Frame 2's group (keyframe 0) is history: decoded from its own keyframe on request.
    for i in (2, 6, 12):
        got = frames[i]
        assert got is not None and np.array_equal(got.image, PICTURES[i])


def test_a_lost_packet_breaks_the_rest_of_its_group_only(store: CameraStore) -> None:
    sub = store.subscribe(["cam"])
    assert store.wait_newer("cam", 0, timeout=0.01) is None  # no camera yet
    order = [i for i in range(12) if i != 2]  # packet 2 lost on the way
    count = 0
    pictures: dict[int, Frame] = {}
    for i in order:
        store.put(frame(i), "peer")
        if i in (0, 1) or i >= 5:
            got = store.wait_newer("cam", count, timeout=10)
            assert got is not None
            pictures[got[0].seq] = got[0]  # type: ignore[index]
            count = got[1]
    received = [sub.get(1) for _ in order]
    broken = [f.seq for f in received if f is not None and f.broken]
    assert broken == [3, 4]
    stats = store.camera_stats("cam")
    assert stats is not None and stats.broken == 2 and stats.dropped == 1
    for f in received:
        assert f is not None
        if f.broken:
            with pytest.raises(VideoError, match="lost"):
                _ = f.image
        else:  # every picture after the loss is decoded from the next keyframe on
            assert np.array_equal(f.image, PICTURES[f.seq])  # type: ignore[index]
    assert sorted(pictures) == [0, 1, *range(5, 12)]
    assert store.latest("cam").seq == 11  # type: ignore[union-attr]


def test_latest_skips_a_broken_tail(store: CameraStore) -> None:
    for i in (0, 1, 3):
        store.put(frame(i), "peer")
    latest = store.latest("cam")
    assert latest is not None and latest.seq == 1  # 3 cannot be shown: 2 never came
    assert np.array_equal(latest.image, PICTURES[1])


def test_frames_before_the_first_keyframe_are_broken(store: CameraStore) -> None:
    for i in (3, 4):
        store.put(frame(i), "peer")
    assert store.latest("cam") is None
    assert store.camera_stats("cam").broken == 2  # type: ignore[union-attr]
    store.put(frame(5), "peer")
    assert np.array_equal(store.latest("cam").image, PICTURES[5])  # type: ignore[union-attr]


def test_a_jpeg_between_packets_ends_the_chain(store: CameraStore, jpeg: bytes) -> None:
    store.put(frame(0), "peer")
    store.put(Frame("cam", jpeg=jpeg), "peer")  # unnumbered: no gap in seq
    store.put(frame(1), "peer")
    assert store.camera_stats("cam").broken == 1  # type: ignore[union-attr]


def test_long_groups_are_cut_and_late_joiners_wait_for_the_next_keyframe() -> None:
    store = CameraStore(video=VideoSettings(max_gop_frames=3)).start()
    try:
        for i in range(5, 10):
            store.put(frame(i), "peer")
        assert store.camera_stats("cam").gop_cut == 1  # type: ignore[union-attr]
        latest = store.latest("cam")
        assert latest is not None
        with pytest.raises(VideoError, match="no longer kept"):
            _ = latest.image
        store.put(frame(10), "peer")
        assert np.array_equal(store.latest("cam").image, PICTURES[10])  # type: ignore[union-attr]
    finally:
        store.stop()


def test_decoder_stops_when_nobody_wants_pictures_and_starts_again() -> None:
    clock = Clock()
    store = CameraStore(video=VideoSettings(idle=5.0), clock=clock).start()
    try:
        store.put(frame(0), "peer")
        assert store.wait_newer("cam", 0, timeout=10) is not None

        def decoding() -> bool:
            return bool(store.camera_stats("cam").decoding)  # type: ignore[union-attr]

        assert decoding()
        clock.now += 4.0  # still wanted: the decoder keeps running
        store.put(frame(1), "peer")
        assert store.wait_newer("cam", 1, timeout=10) is not None
        clock.now += 5.5
        wait_until(lambda: not decoding(), timeout=10)
        for i in range(2, 8):
            store.put(frame(i), "peer")
        assert not decoding()  # ingest alone decodes nothing
        got = store.wait_newer("cam", 7, timeout=10)  # wanted again: from keyframe 5 on
        assert got is not None and got[1] == 8 and decoding()
        assert np.array_equal(got[0].image, PICTURES[7])
    finally:
        store.stop()
    assert not decoding()


def test_a_decoder_that_falls_behind_skips_to_the_next_keyframe() -> None:
    store = CameraStore(video=VideoSettings(decode_queue=2)).start()
    sub = store.subscribe(["cam"])
    try:
        store.put(frame(0), "peer")
        assert store.wait_newer("cam", 0, timeout=10) is not None
        # Hold the store's lock, as a long burst of ingest would keep it busy: the decoder
        # cannot hand over a picture, so its queue of 2 overflows.
        with store._cond:
            for i in range(1, 10):
                store.put(frame(i), "peer")
        store.put(frame(10), "peer")
        got = store.wait_newer("cam", 10, timeout=10)
        assert got is not None and np.array_equal(got[0].image, PICTURES[10])
        stats = store.camera_stats("cam")
        assert stats is not None and stats.undecoded >= 4 and stats.broken == 0
        # What was skipped raises; what was decoded is exactly FFmpeg's picture.
        decoded = skipped = 0
        for _ in range(11):
            f = sub.get(1)
            assert f is not None
            try:
                image = f.image
            except VideoError:
                skipped += 1
                continue
            decoded += 1
            assert np.array_equal(image, PICTURES[f.seq])  # type: ignore[index]
        assert decoded + skipped == 11 and decoded >= 3
    finally:
        store.stop()


def test_feed_of_newest_frames_gives_pictures(store: CameraStore) -> None:
    feed = store.frames(timeout=10)
    store.put(frame(0), "peer")
    got = feed.next(10)
    assert np.array_equal(got.image, PICTURES[0])


def test_keyframe_alone_decodes_without_a_hub() -> None:
    lone = Frame("cam", video=PACKETS[5])
    assert np.array_equal(lone.image, PICTURES[5])
    with pytest.raises(VideoError, match="came without"):
        _ = Frame("cam", video=PACKETS[6]).image
    garbage = Frame("cam", video=VideoPacket("h264", b"\x00\x00\x01\x65" + bytes(64), True))
    with pytest.raises(VideoError):
        _ = garbage.image


@pytest.mark.parametrize(
    ("encoder", "codec"), [("libx265", "hevc"), ("libvpx", "vp8"), ("libvpx-vp9", "vp9")]
)
def test_other_codecs_decode_on_demand_too(encoder: str, codec: str) -> None:
    import av

    from tests.video.test_packet import encode

    packets = [p for p in encode(encoder, 176, 144, frames=8, gop=4) if bytes(p)]
    ctx = av.CodecContext.create(codec, "r")
    reference = [f.to_ndarray(format="bgr24") for p in packets for f in ctx.decode(p)]
    reference += [f.to_ndarray(format="bgr24") for f in ctx.decode(None)]
    store = CameraStore().start()
    try:
        for i, p in enumerate(packets):
            f = Frame("cam", video=VideoPacket(codec, bytes(p), p.is_keyframe), seq=i)  # type: ignore[arg-type]
            f.width, f.height = 176, 144
            store.put(f, "peer")
        latest = store.latest("cam")
        assert latest is not None and latest.seq == len(packets) - 1
        assert np.array_equal(latest.image, reference[-1])
    finally:
        store.stop()
