"""The capability exchange against real hubs: a camhub Sender learns whether its hub
takes video from the hub's answer, sends video only then, and sends JPEG to hubs that
never answer (imagezmq 1.2.0's REP hub, camhub's compat ImageHub), across hub restarts
on the same port."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator

import cv2
import imagezmq
import numpy as np
import pytest
import zmq

import camhub
from camhub import Frame, encode_jpeg
from camhub.video import CODECS
from tests.conftest import wait_until
from tests.video.media import H264Encoder, Scene

pytestmark = pytest.mark.timeout(90)


def drive(step: Callable[[], object], until: Callable[[], bool], limit: float = 60.0) -> None:
    """Call ``step`` (one frame sent) until ``until()``; fails after ``limit`` s."""
    deadline = time.monotonic() + limit
    while not until():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {limit} s")
        step()


class Camera:
    """An encoding camera as an agent would run it: H.264 to a hub that takes it, JPEG
    of the same picture otherwise; the sender asks the encoder for keyframes."""

    def __init__(self, sender: camhub.Sender, name: str = "cam") -> None:
        self.sender = sender
        self.name = name
        self.scene = Scene()
        self.encoder = H264Encoder(320, 240, gop=30)
        sender.on_keyframe_needed = self.encoder.request_keyframe
        self.i = 0
        self.video_sent = 0
        self.jpeg_sent = 0

    def step(self) -> bool:
        image = self.scene.frame(self.i)
        packet = self.encoder.encode(image)[0]
        self.i += 1
        if self.sender.accepts("h264"):
            frame = Frame(self.name, video=packet, width=320, height=240)
            ok = self.sender.send_frame(frame)
            self.video_sent += ok
        else:
            ok = self.sender.send_jpeg(self.name, encode_jpeg(image), width=320, height=240)
            self.jpeg_sent += ok
        return ok


@pytest.mark.parametrize("window", [1, 2, 8], ids=["lock-step", "no-credit", "credit"])
def test_native_hub_answers_the_offer_and_takes_video(window: int) -> None:
    with camhub.Hub("tcp://127.0.0.1:0") as hub:
        sub = hub.subscribe(["cam"], maxsize=256)
        with camhub.Sender(hub.endpoint, window=window, video=["h264"]) as sender:
            assert sender.video_codecs is None and not sender.accepts("h264")
            cam = Camera(sender)
            drive(cam.step, lambda: sender.video_codecs is not None)
            assert sender.video_codecs == frozenset(CODECS)
            drive(cam.step, lambda: cam.video_sent == 10)
            assert sender.flush(10)
        frames = []
        while (f := sub.get(0.5)) is not None:
            frames.append(f)
    kinds = [f.encoding for f in frames]
    assert kinds[: cam.jpeg_sent] == ["jpeg"] * cam.jpeg_sent
    video = frames[cam.jpeg_sent :]
    assert len(video) == 10 and all(f.encoding == "h264" for f in video)
    assert video[0].video is not None and video[0].video.keyframe  # the first is a keyframe
    assert not any(f.broken for f in video)
    # The answer came mid-group: its P-frame was held, and a keyframe asked for at once.
    assert sender.stats.gop_drops == cam.encoder.keyframe_requests <= 1
    assert sender.stats.refused == 0


def test_the_offer_is_in_headers_only_until_answered() -> None:
    with camhub.Hub("tcp://127.0.0.1:0") as hub:
        ctx = zmq.Context.instance()
        tap = ctx.socket(zmq.ROUTER)  # a hub that never answers shows what is offered
        port = tap.bind_to_random_port("tcp://127.0.0.1")
        try:
            with camhub.Sender(f"tcp://127.0.0.1:{port}", video=["vp9", "h264"]) as sender:
                sender.send_jpeg("cam", encode_jpeg(np.zeros((8, 8, 3), np.uint8)))
                tap.setsockopt(zmq.RCVTIMEO, 5000)
                header = json.loads(tap.recv_multipart()[2])
                assert header["video"] == ["h264", "vp9"]  # camhub's order of preference
        finally:
            tap.close(0)
        with camhub.Sender(hub.endpoint, video=["h264"]) as sender:
            sender.send_jpeg("cam", encode_jpeg(np.zeros((8, 8, 3), np.uint8)))
            assert sender.flush(10) and sender.video_codecs == frozenset(CODECS)
            assert not sender._offering  # later headers carry no offer


def test_sender_without_an_offer_never_sends_video() -> None:
    with camhub.Hub("tcp://127.0.0.1:0") as hub, camhub.Sender(hub.endpoint) as sender:
        cam = Camera(sender)
        for _ in range(3):
            cam.step()
        assert sender.flush(10) and sender.video_codecs is None
        packet = cam.encoder.encode(cam.scene.frame(0))[0]
        assert not sender.send_frame(Frame("cam", video=packet, width=320, height=240))
        assert sender.stats.no_video == 1 and sender.stats.dropped == 1


def test_jpeg_only_native_hub_says_no_and_refuses_video_sent_anyway() -> None:
    with camhub.Hub("tcp://127.0.0.1:0", video=()) as hub:
        with camhub.Sender(hub.endpoint, video=["h264"]) as sender:
            cam = Camera(sender)
            drive(cam.step, lambda: sender.video_codecs is not None)
            assert sender.video_codecs == frozenset() and cam.video_sent == 0
        dealer = zmq.Context.instance().socket(zmq.DEALER)
        dealer.setsockopt(zmq.RCVTIMEO, 5000)
        try:
            dealer.connect(hub.endpoint)
            packet = cam.encoder.encode(cam.scene.frame(1))[0]
            frame = Frame("rogue", video=packet, seq=0, captured_at=1.0, width=320, height=240)
            dealer.send_multipart([b"", *camhub.protocol.encode(frame)])
            reply = dealer.recv_multipart()
        finally:
            dealer.close(0)
        assert reply[1].startswith(b"ERR this hub does not take h264 video")
        assert hub.camera_names() == ["cam"]


def port_free(address: str) -> str:
    """Wait until a closed hub's port can be bound again (ZeroMQ releases it on its I/O
    thread a moment after close() returns); returns the address. A plain socket's bind
    and close are synchronous and use the same SO_REUSEADDR as ZeroMQ."""
    port = int(address.rsplit(":", 1)[1])
    deadline = time.monotonic() + 10
    while True:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
                return address
            except OSError:
                if time.monotonic() > deadline:
                    raise
        time.sleep(0.05)


class ImagezmqHub:
    """A real imagezmq 1.2.0 REP hub on a thread, answering every frame ``OK``."""

    def __init__(self, address: str) -> None:
        self.hub = imagezmq.ImageHub(open_port=address)
        self.hub.zmq_socket.setsockopt(zmq.RCVTIMEO, 100)  # imagezmq would wait forever
        self.received: list[tuple[str, bytes]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                name, payload = self.hub.recv_jpg()
            except zmq.Again:
                continue
            self.received.append((name, bytes(payload)))
            self.hub.send_reply(b"OK")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.hub.close()


def _pictures_are_jpeg(received: list[tuple[str, bytes]]) -> None:
    assert received
    for _, payload in received:
        assert payload[:2] == b"\xff\xd8"
        picture = cv2.imdecode(np.frombuffer(payload, np.uint8), cv2.IMREAD_COLOR)
        assert picture is not None and picture.shape == (240, 320, 3)


@pytest.fixture
def imagezmq_hub() -> Iterator[ImagezmqHub]:
    hub = ImagezmqHub("tcp://127.0.0.1:*")
    yield hub
    hub.close()


@pytest.mark.parametrize("window", [1, 8], ids=["lock-step", "credit"])
def test_imagezmq_hub_gets_jpeg_without_being_told(imagezmq_hub: ImagezmqHub, window: int) -> None:
    address = imagezmq_hub.hub.zmq_socket.getsockopt_string(zmq.LAST_ENDPOINT)
    with camhub.Sender(address, window=window, video=["h264"]) as sender:
        cam = Camera(sender)
        drive(cam.step, lambda: sender.video_codecs is not None)
        for _ in range(10):
            assert cam.step()
        assert sender.flush(10)
    assert sender.video_codecs == frozenset() and cam.video_sent == 0
    wait_until(lambda: len(imagezmq_hub.received) == cam.jpeg_sent)
    _pictures_are_jpeg(imagezmq_hub.received)


def test_compat_imagehub_gets_jpeg_without_being_told() -> None:
    hub = camhub.ImageHub("tcp://127.0.0.1:0")
    got: list[np.ndarray] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                got.append(hub.recv_image(timeout=0.1)[1])
            except TimeoutError:
                continue
            hub.send_reply(b"OK")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with camhub.Sender(hub.endpoint, video=["h264"]) as sender:
            cam = Camera(sender)
            drive(cam.step, lambda: sender.video_codecs is not None)
            for _ in range(5):
                assert cam.step()
            assert sender.flush(10)
        assert sender.video_codecs == frozenset() and cam.video_sent == 0
        wait_until(lambda: len(got) == cam.jpeg_sent)
        assert all(p.shape == (240, 320, 3) for p in got) and hub.malformed == 0
    finally:
        stop.set()
        thread.join(5)
        hub.close()


def test_hub_restarts_native_then_imagezmq_then_native_on_one_port() -> None:
    """A restarted hub may be another hub: the sender asks again after every reconnect,
    goes from video to JPEG and back, and every video run starts at a keyframe."""
    hub = camhub.Hub("tcp://127.0.0.1:0").start()
    address = hub.endpoint
    sender = camhub.Sender(address, timeout=0.3, video=["h264"])
    cam = Camera(sender)
    try:
        sub = hub.subscribe(["cam"], maxsize=512)
        drive(cam.step, lambda: cam.video_sent >= 10)
        sender.flush(10)
        hub.stop()
        first = [f for f in iter(lambda: sub.get(0.1), None)]

        iz = ImagezmqHub(port_free(address))
        try:
            drive(cam.step, lambda: sender.video_codecs == frozenset())
            drive(cam.step, lambda: len(iz.received) >= 5)
            assert sender.flush(10)
        finally:
            iz.close()
        _pictures_are_jpeg(iz.received)  # not one video packet reached it

        hub = camhub.Hub(port_free(address)).start()
        sub = hub.subscribe(["cam"], maxsize=512)
        video_before = cam.video_sent
        drive(cam.step, lambda: cam.video_sent >= video_before + 10)
        assert sender.flush(10)
        second = [f for f in iter(lambda: sub.get(0.1), None)]
    finally:
        sender.close()
        hub.stop()
    assert sender.video_codecs == frozenset(CODECS)
    for frames in (first, second):
        video = [f for f in frames if f.video is not None]
        assert len(video) >= 10 and video[0].video is not None and video[0].video.keyframe
        assert not any(f.broken for f in video)
    assert cam.encoder.keyframe_requests >= 1  # the gate asked for a keyframe on return
