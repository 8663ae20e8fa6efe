"""Video files: paced at their own frame rate, looping on request, ending cleanly."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from camhub.sources import FatalSourceError, open_source
from camhub.types import SourceEnded, SourceError

pytestmark = pytest.mark.timeout(60)


def test_plays_in_real_time_then_ends(video_file: Path) -> None:
    source = open_source(str(video_file))
    frames = []
    started = time.monotonic()
    try:
        with pytest.raises(SourceEnded, match="no more frames"):
            while True:
                frames.append(source.read(timeout=5))
    finally:
        source.stop()
    elapsed = time.monotonic() - started
    assert source.name == "clip"
    assert len(frames) == 20  # 1 s at 20 fps: a reader as fast as the file loses none
    assert 0.8 < elapsed < 2.5, f"a 1 s clip played in {elapsed:.2f} s"
    assert frames[0].image.shape == (120, 160, 3)


def test_loops(video_file: Path) -> None:
    source = open_source(f"file://{video_file}", "loop", loop=True)
    try:
        frames = [source.read(timeout=5) for _ in range(30)]  # more than the 20 in the file
    finally:
        source.stop()
    assert frames[-1].seq == 30
    assert source.status().last_error is None


def test_not_a_video_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.mp4"
    bogus.write_text("this is not a video")
    source = open_source(str(bogus))
    try:
        with pytest.raises(SourceError, match="cannot open video file"):
            source.read(timeout=5)
    finally:
        source.stop()


def test_missing_file_fails_at_once() -> None:
    with pytest.raises(FatalSourceError, match="does not exist"):
        open_source("/no/such/clip.mp4")
