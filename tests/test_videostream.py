"""camhub.VideoStream as a drop-in for imutils.video.VideoStream."""

from __future__ import annotations

import importlib.util
import itertools
import time

import numpy as np
import pytest

import camhub
from camhub.sources import FatalSourceError, SourceTimeout
from camhub.videostream import VideoStream
from tests.servers.blackhole import Unanswered

pytestmark = pytest.mark.timeout(30)


def test_read_right_after_start_returns_a_bgr_frame() -> None:
    stream = VideoStream(src="testsrc:160x120@10").start()
    try:
        started = time.monotonic()
        image = stream.read()
        assert time.monotonic() - started < 0.05  # the frame start() waited for
    finally:
        stream.stop()
    assert isinstance(image, np.ndarray)
    assert image.shape == (120, 160, 3) and image.dtype == np.uint8


def test_read_waits_for_a_new_frame_instead_of_repeating() -> None:
    with VideoStream(src="testsrc:160x120@10") as stream:
        started = time.monotonic()
        images = [stream.read() for _ in range(11)]
        elapsed = time.monotonic() - started
    # imutils would return ~hundreds of reads per second here, mostly the same frame.
    assert elapsed > 0.7, "read() returned faster than the camera makes frames"
    for a, b in itertools.pairwise(images):
        assert not np.array_equal(a, b)


def test_tutorial_loop_sends_each_camera_frame_once(hub: camhub.Hub) -> None:
    # The imagezmq tutorial's client, unchanged except for the imports.
    sender = camhub.ImageSender(connect_to=hub.endpoint)
    stream = VideoStream(src="testsrc:160x120@20").start()
    sends = 0
    try:
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            sender.send_image("pi-cam", stream.read())
            sends += 1
    finally:
        stream.stop()
        sender.close()
    assert 15 <= sends <= 25, f"{sends} sends in 1 s from a 20 fps camera"
    assert hub.wait_newer("pi-cam", sends - 1, timeout=5) is not None


def test_dead_camera_gives_a_clear_timeout() -> None:
    with Unanswered() as probe:
        port = probe.port
    stream = VideoStream(src=f"http://127.0.0.1:{port}/video", timeout=1.0)
    started = time.monotonic()
    with pytest.raises(SourceTimeout, match=r"connection refused.*reachable"):
        stream.start()
    assert time.monotonic() - started < 2.0
    stream.stop()


@pytest.mark.skipif(importlib.util.find_spec("picamera2") is not None, reason="picamera2 here")
def test_use_pi_camera_without_picamera2() -> None:
    with pytest.raises(FatalSourceError, match="picamera2 is not installed"):
        VideoStream(usePiCamera=True, resolution=(640, 480), framerate=30)
