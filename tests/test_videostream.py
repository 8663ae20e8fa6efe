"""camhub.VideoStream as a drop-in for imutils.video.VideoStream."""

from __future__ import annotations

import importlib.util
import itertools
import threading

import numpy as np
import pytest

import camhub
from camhub.sources import FatalSourceError, SourceTimeout
from camhub.videostream import VideoStream
from tests.clock import ManualClock
from tests.servers.blackhole import Unanswered

pytestmark = pytest.mark.timeout(30)


def manual(stream: VideoStream) -> ManualClock:
    """Put the stream's camera on a manual clock (before start): it makes its first
    frame at once and each next one only when the test moves the clock 1/fps on."""
    clock = ManualClock()
    stream.source.clock = clock
    return clock


def test_read_right_after_start_returns_a_bgr_frame() -> None:
    stream = VideoStream(src="testsrc:160x120@10", timeout=0.5)
    manual(stream)
    try:
        stream.start()
        image = stream.read()  # the frame start() waited for: no new one is coming
        with pytest.raises(SourceTimeout):
            stream.read()
    finally:
        stream.stop()
    assert stream.status().frames == 1
    assert isinstance(image, np.ndarray)
    assert image.shape == (120, 160, 3) and image.dtype == np.uint8


def test_read_waits_for_a_new_frame_instead_of_repeating() -> None:
    # imutils would return the frame it holds, again and again.
    stream = VideoStream(src="testsrc:160x120@10", timeout=0.3)
    clock = manual(stream)
    with stream:
        images = [stream.read()]
        clock.asleep()
        for _ in range(10):
            with pytest.raises(SourceTimeout, match="no new frame"):
                stream.read()  # the camera has made nothing new
            clock.advance(0.1)
            images.append(stream.read())
    assert stream.status().frames == 11
    for a, b in itertools.pairwise(images):
        assert not np.array_equal(a, b)


def test_tutorial_loop_sends_each_camera_frame_once(hub: camhub.Hub) -> None:
    # The imagezmq tutorial's client, unchanged except for the imports.
    sender = camhub.ImageSender(connect_to=hub.endpoint)
    stream = VideoStream(src="testsrc:160x120@20", timeout=1.0)
    clock = manual(stream)
    stream.start()

    def one_second_of_camera() -> None:
        clock.asleep()
        clock.advance(1.0, step=0.05)

    camera = threading.Thread(target=one_second_of_camera)
    camera.start()
    sends = 0
    try:
        while True:
            try:
                image = stream.read()
            except SourceTimeout:
                if camera.is_alive():
                    continue
                break  # the camera is done and every frame it made was read or dropped
            sender.send_image("pi-cam", image)
            sends += 1
    finally:
        camera.join()
        stream.stop()
        sender.close()
    made = stream.status().frames
    assert made == 21  # the first, then one per 1/20 s
    assert sends + stream.source.dropped == made, (sends, stream.source.dropped)
    assert sends >= 2
    assert hub.wait_newer("pi-cam", sends - 1, timeout=5) is not None


def test_dead_camera_gives_a_clear_timeout() -> None:
    with Unanswered() as probe:
        port = probe.port
    stream = VideoStream(src=f"http://127.0.0.1:{port}/video", timeout=1.0)
    with pytest.raises(SourceTimeout, match=r"connection refused.*reachable"):
        stream.start()
    stream.stop()


@pytest.mark.skipif(importlib.util.find_spec("picamera2") is not None, reason="picamera2 here")
def test_use_pi_camera_without_picamera2() -> None:
    with pytest.raises(FatalSourceError, match="picamera2 is not installed"):
        VideoStream(usePiCamera=True, resolution=(640, 480), framerate=30)
