"""Local webcams and Pi cameras. There is no camera device on CI machines, so these test
what can be tested for real here: the clear errors, and the OpenCV capture loop itself
(fed a video file through the ``device`` override, which OpenCV opens the same way)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from camhub.sources import FatalSourceError, SourceTimeout, open_source, parse_source
from camhub.sources.webcam import WebcamSource

pytestmark = pytest.mark.timeout(30)


@pytest.mark.skipif(os.path.exists("/dev/video9"), reason="a /dev/video9 exists here")
def test_missing_webcam_is_a_clear_error_and_retried() -> None:
    source = open_source("/dev/video9", "desk", open_timeout=1, retry_max=0.5)
    try:
        with pytest.raises(SourceTimeout, match="cannot open webcam /dev/video9"):
            source.read(timeout=2)
        assert source.status().reconnects >= 1  # plugged in later, it would be picked up
    finally:
        source.stop()


def test_opencv_capture_loop(video_file: Path) -> None:
    source = WebcamSource(parse_source("0"), "cv", device=str(video_file))
    try:
        frame = source.read(timeout=5)
    finally:
        source.stop()
    assert frame.image.shape == (120, 160, 3)
    assert frame.seq is not None and frame.seq >= 1  # the newest frame, whichever it is


@pytest.mark.skipif(importlib.util.find_spec("picamera2") is not None, reason="picamera2 here")
def test_picamera_without_picamera2_says_how_to_get_it() -> None:
    with pytest.raises(FatalSourceError, match=r"picamera2 is not installed.*apt install"):
        open_source("picamera")
