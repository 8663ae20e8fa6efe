"""The built-in test pattern: live, moving, named and stamped JPEG frames."""

from __future__ import annotations

import time

import numpy as np
import pytest

from camhub.jpeg import decode_jpeg
from camhub.sources import open_source
from tests.clock import ManualClock
from tests.sources.helpers import read_n

pytestmark = pytest.mark.timeout(30)


def test_frames_are_jpeg_of_the_asked_size_and_move() -> None:
    source = open_source("testsrc:320x240@30", "pattern")
    try:
        frames = read_n(source, 6, timeout=2)
    finally:
        source.stop()
    assert all(f.jpeg is not None and f.array is None for f in frames)
    assert {(f.width, f.height) for f in frames} == {(320, 240)}
    images = [decode_jpeg(f.jpeg or b"") for f in frames]
    assert images[0].shape == (240, 320, 3)
    assert not np.array_equal(images[0], images[-1])
    stamps = [f.captured_at or 0 for f in frames]
    assert stamps == sorted(stamps) and stamps[0] > 0 and stamps[-1] <= time.time()


def test_rate_is_kept() -> None:
    source = open_source("testsrc:160x120@16", "pattern")
    clock = ManualClock()
    source.clock = clock
    try:
        source.start()
        clock.asleep()  # the first frame is out; the next is 1/16 s away
        assert source.status().frames == 1
        clock.advance(2.0, step=1 / 64)
        assert source.status().frames == 1 + 32, clock.waits
        # A stall (a busy machine): it resumes at its rate instead of making up the
        # 16 frames it missed in one burst.
        before = source.status().frames
        clock.advance(1.0)
        burst = source.status().frames - before
        clock.advance(1.0, step=1 / 16)
    finally:
        source.stop()
    assert 1 <= burst <= 3, burst
    assert source.status().frames - before - burst == 16


def test_the_name_is_drawn_in() -> None:
    images = []
    for name in ("alpha", "WWWWWWWW"):
        source = open_source("testsrc:320x240@30", name)
        try:
            images.append(decode_jpeg(source.read(timeout=2).jpeg or b"").astype(int))
        finally:
            source.stop()
    band = slice(40, 80)  # below the colour bars, where the name sits
    assert np.abs(images[0][band] - images[1][band]).mean() > 1.0
