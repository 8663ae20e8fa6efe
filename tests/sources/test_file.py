"""Video files: paced at their own frame rate, looping on request, ending cleanly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from camhub.sources import FatalSourceError, open_source
from camhub.types import SourceEnded, SourceError
from camhub.video.packet import h264_type, length_prefixed_to_annexb, nal_units, parameter_sets
from tests.clock import ManualClock
from tests.servers.media import ffmpeg
from tests.sources.helpers import read_on_clock

pytestmark = pytest.mark.timeout(60)


def test_plays_in_real_time_then_ends(video_file: Path) -> None:
    source = open_source(str(video_file))
    clock = ManualClock()
    source.clock = clock  # type: ignore[attr-defined]
    try:
        frames = [source.read(timeout=5)]  # the first is due at once
        clock.asleep()
        for i in range(19):  # then one every 1/20 s of clock
            assert source.pending == 0  # nothing before its time
            # After the last frame the file ends: nobody sleeps toward a next one.
            clock.advance(0.05, sleepers=1 if i < 18 else 0)
            frames.append(source.read(timeout=5))
        with pytest.raises(SourceEnded, match="no more frames"):
            source.read(timeout=5)
    finally:
        source.stop()
    assert source.name == "clip"
    assert len(frames) == 20  # 1 s at 20 fps: a reader as fast as the file loses none
    assert [f.seq for f in frames] == list(range(1, 21))
    assert clock.waits == pytest.approx([0.05] * 19, abs=1e-6)
    assert frames[0].image.shape == (120, 160, 3)


def test_loops(video_file: Path) -> None:
    source = open_source(f"file://{video_file}", "loop", loop=True)
    try:
        frames = read_on_clock(source, 30, fps=20)  # more than the 20 in the file
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


# -- the file's own packets ----------------------------------------------------------------


def demuxed(path: Path) -> list[Any]:
    """The file's packets as FFmpeg demuxes them (the reference for pass-through)."""
    import av

    with av.open(str(path)) as container:
        return [
            (bytes(p), p.is_keyframe) for p in container.demux(container.streams.video[0]) if p.size
        ]


def test_h264_packets_pass_through_with_parameter_sets_on_every_keyframe(
    tmp_path: Path,
) -> None:
    clip = tmp_path / "gop.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=20:duration=1",
           "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", "-g", "8",
           str(clip))  # fmt: skip
    reference = demuxed(clip)
    source = open_source(str(clip), packets=True, loop=True)
    try:
        frames = read_on_clock(source, len(reference) + 5, fps=20)
    finally:
        source.stop()
    videos = [f.video for f in frames if f.video is not None]
    assert len(videos) == len(frames)
    # The file's own NAL units, in Annex B: no decode, no re-encode.
    expected = [nal_units(length_prefixed_to_annexb(data)) for data, _ in reference]
    assert [[u for u in nal_units(v.data) if h264_type(u) not in (7, 8)] for v in videos[:20]] == [
        [u for u in units if h264_type(u) not in (7, 8)] for units in expected
    ]
    assert [v.keyframe for v in videos[:20]] == [key for _, key in reference]
    assert sum(v.keyframe for v in videos[:20]) == 3  # frames 0, 8, 16
    assert all(parameter_sets("h264", v.data) for v in videos if v.keyframe)
    assert {(f.width, f.height) for f in frames} == {(160, 120)}
    # The loop starts again at a keyframe, and time keeps going forward.
    assert videos[20].keyframe
    pts = [v.pts for v in videos if v.pts is not None]
    assert len(pts) == len(videos) and pts == sorted(pts) and len(set(pts)) == len(pts)
    assert pts[21] - pts[20] == pts[1] - pts[0] == 4500  # 20 fps in 90 kHz ticks


def test_vp9_packets_pass_through(tmp_path: Path) -> None:
    clip = tmp_path / "clip.webm"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=1", "-c:v", "libvpx-vp9",
           "-deadline", "realtime", "-g", "5", str(clip))  # fmt: skip
    reference = demuxed(clip)
    source = open_source(str(clip), packets=True)
    try:
        frames = read_on_clock(source, len(reference), fps=10)
    finally:
        source.stop()
    assert [(f.video.data, f.video.keyframe) for f in frames if f.video] == reference
    assert all(f.encoding == "vp9" for f in frames)


def test_a_codec_that_does_not_pass_through_gives_pictures(tmp_path: Path) -> None:
    clip = tmp_path / "clip.avi"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=0.5", "-c:v", "mpeg4",
           str(clip))  # fmt: skip
    source = open_source(str(clip), packets=True)
    try:
        frames = read_on_clock(source, 5, fps=10)
    finally:
        source.stop()
    assert all(f.video is None and f.image.shape == (120, 160, 3) for f in frames)
