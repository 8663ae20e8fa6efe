"""H.264 from a camhub Sender into a Hub over 127.0.0.1, end to end: pictures equal to
FFmpeg's own, motion detection on a video camera, and a sender behind a slow or stalled
hub that drops whole groups while every picture the hub makes stays clean."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

import numpy as np
import pytest

import camhub
from camhub import CameraStore, EventBus, Frame, Receiver, VideoError, encode_jpeg
from camhub.sender import BackgroundSender
from tests.conftest import wait_until
from tests.video.media import H264Encoder, Scene, ffmpeg_pictures, h264_stream, psnr

pytestmark = pytest.mark.timeout(120)

WIDTH, HEIGHT = 320, 240
SOURCE_TICKS = 6000  # media.H264Encoder: pts = picture index * 6000 (15 fps at 90 kHz)


def learn(sender: camhub.Sender) -> None:
    """Send JPEG until the hub has answered the video offer (as an agent does)."""
    deadline = time.monotonic() + 10
    while sender.video_codecs is None:
        assert time.monotonic() < deadline, "the hub never answered the offer"
        sender.send_jpeg("cam", encode_jpeg(np.zeros((HEIGHT, WIDTH, 3), np.uint8)))
        sender.flush(10)
    assert sender.accepts("h264")


def video(packet: camhub.VideoPacket) -> Frame:
    return Frame("cam", video=packet, width=WIDTH, height=HEIGHT)


def received(sub: camhub.FrameSubscription, *, jpeg: bool = False) -> list[Frame]:
    """What the hub got, in order: its video frames (``jpeg``: all frames)."""
    return [f for f in iter(lambda: sub.get(0.5), None) if jpeg or f.video is not None]


def check_clean(frames: Iterable[Frame], pictures: dict[int, np.ndarray], source: Scene) -> int:
    """Every picture the hub made is the one a fresh FFmpeg decoder makes from what the
    hub kept (decoding each group from its keyframe), and shows its source picture; a
    broken frame has none. Returns how many pictures were checked."""
    checked = 0
    group: list[Frame] = []
    for frame in frames:
        assert frame.video is not None and frame.seq is not None
        if frame.broken:
            with pytest.raises(VideoError):
                _ = frame.image
            group = []
            continue
        group = [frame] if frame.video.keyframe else [*group, frame]
        assert group[0].video is not None and group[0].video.keyframe, "decodable mid-group"
        fresh = ffmpeg_pictures([f.video for f in group if f.video is not None])[-1]
        hub_picture = pictures.get(frame.seq)
        if hub_picture is None:
            hub_picture = frame.image
        assert np.array_equal(hub_picture, fresh)
        assert frame.video.pts is not None
        assert psnr(hub_picture, source.frame(frame.video.pts // SOURCE_TICKS)) > 30
        checked += 1
    return checked


def test_h264_from_sender_to_hub_gives_ffmpeg_pictures() -> None:
    source, packets = h264_stream(45, width=WIDTH, height=HEIGHT, gop=15)
    reference = ffmpeg_pictures(packets)
    with camhub.Hub("tcp://127.0.0.1:0") as hub:
        sub = hub.subscribe(["cam"], maxsize=256)
        with camhub.Sender(hub.endpoint, video=["h264"]) as sender:
            learn(sender)
            feed = hub.frames(["cam"], timeout=10)
            first = None
            for packet in packets:
                assert sender.send_frame(video(packet))
                if first is None:  # a picture reader: the decoder runs from here on
                    first = next(f for f in feed if f.video is not None)
            assert sender.flush(10)
        frames = received(sub)
        stats = hub.camera_stats("cam")
    assert first is not None
    assert np.array_equal(first.image, reference[0])
    assert [f.video for f in frames] == packets
    for frame, picture, shown in zip(frames, reference, source, strict=True):
        assert np.array_equal(frame.image, picture)  # FFmpeg's own decoder, same packets
        assert psnr(frame.image, shown) > 30  # and the camera's picture, within the codec
    assert stats is not None and stats.encoding == "h264" and stats.frames >= 46
    assert stats.broken == stats.undecoded == stats.dropped == 0


def test_motion_fires_on_a_video_camera() -> None:
    scene = Scene(WIDTH, HEIGHT, step=8)
    encoder = H264Encoder(WIDTH, HEIGHT, gop=30)
    with camhub.Hub("tcp://127.0.0.1:0") as hub:
        runner = hub.add_processor("motion", cameras=["cam"], warmup=3, min_frames=2)
        with camhub.Sender(hub.endpoint, video=["h264"]) as sender:
            learn(sender)
            base = hub.camera_stats("cam").frames  # type: ignore[union-attr]
            moving = []
            for i in range(40):
                # The scene's first frames show the photograph alone: the subtractor
                # learns it, then the astronaut walks in.
                image = scene.frame(i) if i >= 10 else scene.background
                assert sender.send_frame(video(encoder.encode(image)[0]))
                sent = base + i + 1
                wait_until(lambda n=sent: hub.camera_stats("cam").frames == n)  # type: ignore[misc, union-attr]

                def seen(n: int = sent) -> bool:  # the processor took this frame's picture
                    stats = runner.camera_stats("cam")
                    return stats is not None and stats.processed + stats.skipped + stats.errors >= n

                wait_until(seen, timeout=10)
                update = runner.latest("cam")
                if update is not None:
                    moving.append(bool(update.data["motion"]))
        stats = runner.camera_stats("cam")
    assert stats is not None and stats.errors == 0 and stats.processed >= 20
    assert not any(moving[:8])  # the still photograph: no motion
    assert sum(moving[12:]) >= 10  # the walker, seen in decoded pictures


def _slow_hub(delay: float | Callable[[], object]) -> tuple[CameraStore, Receiver]:
    """A hub whose ingest takes ``delay`` s per frame (or blocks in ``delay()``), as an
    overloaded machine's would: built from the Hub's parts, each usable alone."""
    store = CameraStore().start()

    def sink(frame: Frame, peer: str) -> None:
        if callable(delay):
            delay()
        else:
            time.sleep(delay)
        store.put(frame, peer)

    receiver = Receiver(sink, EventBus(), bind=["tcp://127.0.0.1:0"]).start()
    return store, receiver


class Pictures:
    """A picture reader on the hub while frames stream (it keeps the decoder running)."""

    def __init__(self, store: CameraStore) -> None:
        self.store = store
        self.by_seq: dict[int, np.ndarray] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        count = 0
        while not self._stop.is_set():
            got = self.store.wait_newer("cam", count, timeout=0.1)
            if got is not None:
                picture, count = got
                if picture.video is not None:  # a decoded picture, not the JPEG before
                    assert picture.seq is not None
                    self.by_seq[picture.seq] = picture.image

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def test_sender_behind_a_slow_hub_drops_whole_groups_and_pictures_stay_clean() -> None:
    scene = Scene(WIDTH, HEIGHT)
    encoder = H264Encoder(WIDTH, HEIGHT, gop=30)
    store, receiver = _slow_hub(0.02)
    pictures = Pictures(store)
    sub = store.subscribe(["cam"], maxsize=1024)
    try:
        sender = camhub.Sender(receiver.endpoints[0], window=4, timeout=5, video=["h264"])
        learn(sender)
        background = BackgroundSender(
            sender, on_keyframe_needed=encoder.request_keyframe, maxsize=8
        )
        offered = 0
        # The camera makes pictures far faster than this hub takes them.
        while background.gop_drops < 20 or encoder.keyframe_requests < 2:
            background.offer(video(encoder.encode(scene.frame(offered))[0]))
            offered += 1
            assert offered < 3000, "the sender never fell behind"
        background.close()  # closes the sender too; the hub still takes what it got
        frames = received(sub)
    finally:
        pictures.stop()
        receiver.stop()
        store.stop()
    stats = store.camera_stats("cam")
    assert stats is not None and stats.broken == 0  # whole groups dropped, never a P-frame
    assert len(frames) < offered  # frames were dropped...
    assert frames[0].video is not None and frames[0].video.keyframe
    starts = [f.video.pts // SOURCE_TICKS for f in frames if f.video and f.video.keyframe]  # type: ignore[operator]
    assert len(starts) >= 2  # ...a group at a time, resuming at requested keyframes
    assert check_clean(frames, pictures.by_seq, scene) == len(frames)
    assert len(pictures.by_seq) >= 3
    print(
        f"\nslow hub: {offered} offered, {len(frames)} received in {len(starts)} groups, "
        f"{background.gop_drops} dropped with their group, {background.superseded} superseded, "
        f"{len(pictures.by_seq)} pictures made live"
    )


def test_sender_behind_a_stalled_hub_reconnects_and_resumes_at_a_keyframe() -> None:
    scene = Scene(WIDTH, HEIGHT)
    encoder = H264Encoder(WIDTH, HEIGHT, gop=45)
    stall = threading.Event()
    stall.set()
    store, receiver = _slow_hub(lambda: stall.wait(30))
    pictures = Pictures(store)
    sub = store.subscribe(["cam"], maxsize=1024)
    i = 0

    def step() -> bool:
        nonlocal i
        image = scene.frame(i)
        packet = encoder.encode(image)[0]
        i += 1
        if sender.accepts("h264"):
            return sender.send_frame(video(packet))
        return sender.send_jpeg("cam", encode_jpeg(image), width=WIDTH, height=HEIGHT)

    try:
        sender = camhub.Sender(
            receiver.endpoints[0],
            window=4,
            timeout=0.3,
            video=["h264"],
            on_keyframe_needed=encoder.request_keyframe,
        )
        learn(sender)
        for _ in range(10):
            assert step()
        stall.clear()  # the hub hangs: replies stop, the sender gives up and reconnects
        while sender.stats.reconnects == 0:
            step()
            assert i < 200
        stall.set()
        while sender.stats.sent < 40 or not sender.accepts("h264"):
            step()
            assert i < 400
        assert sender.flush(10)
        sender.close()
        everything = received(sub, jpeg=True)
    finally:
        stall.set()
        pictures.stop()
        receiver.stop()
        store.stop()
    assert sender.stats.dropped > 0 and encoder.keyframe_requests >= 1
    # JPEG while the sender asked the hub again after reconnecting; then video again,
    # from a keyframe the sender asked its encoder for.
    kinds = [f.encoding for f in everything]
    last_jpeg = len(kinds) - 1 - kinds[::-1].index("jpeg")
    resumed = everything[last_jpeg + 1]
    assert resumed.video is not None and resumed.video.keyframe
    assert len(everything) - last_jpeg > 20
    frames = [f for f in everything if f.video is not None]
    assert check_clean(frames, pictures.by_seq, scene) >= 20
    print(
        f"\nstalled hub: {sender.stats.reconnects} reconnects, {sender.stats.dropped} dropped "
        f"({sender.stats.gop_drops} with their group, {sender.stats.no_video} while the hub "
        f"had not answered), {sum(f.broken for f in frames)} broken at the hub"
    )


def test_compat_pubsub_recv_image_decodes_a_video_publisher() -> None:
    """The drop-in's PUB/SUB hub is a picture reader too: ``recv_image`` of a camera a
    Publisher streams as H.264 gives the pictures FFmpeg makes."""
    _, packets = h264_stream(30, width=WIDTH, height=HEIGHT, gop=5)
    reference = ffmpeg_pictures(packets)
    publisher = camhub.Publisher("tcp://127.0.0.1:0", video=["h264"])
    hub = camhub.ImageHub(publisher.address, REQ_REP=False)
    stop = threading.Event()

    def publish() -> None:
        # The subscription takes a moment to reach the publisher (ZeroMQ's slow joiner):
        # the stream repeats, and a repeat starts at a keyframe.
        k = 0
        while not stop.is_set():
            publisher.send_frame(
                Frame("cam", video=packets[k % 30], seq=k, width=WIDTH, height=HEIGHT)
            )
            k += 1
            stop.wait(0.01)

    thread = threading.Thread(target=publish, daemon=True)
    thread.start()
    try:
        images = [hub.recv_image(timeout=10) for _ in range(10)]
    finally:
        stop.set()
        thread.join(5)
        hub.close()
        publisher.close()
    for name, image in images:
        assert name == "cam"
        assert any(np.array_equal(image, picture) for picture in reference)
    assert hub.malformed == 0
