"""One video segment file: fragments per GOP or per second, timestamps from the stream
or from arrival, a stream clock that jumps, a group cut short, and the cut-off file a
killed writer leaves."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from camhub.record.video_segment import VideoSegmentWriter, recover_segment
from camhub.video.codecconfig import track_config
from camhub.video.fmp4scan import scan
from camhub.video.packet import TIME_BASE, VideoPacket
from tests.video.coded import elementary_stream, encode, ffmpeg_md5s, scene

pytestmark = pytest.mark.timeout(120)
TICK = TIME_BASE // 15
T0 = 1_700_000_000.0


@pytest.fixture(scope="module")
def packets() -> list[VideoPacket]:
    return encode("h264", scene(90, (160, 120)), gop=45)  # a keyframe every 3 s


@pytest.fixture(scope="module")
def want(packets: list[VideoPacket], tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    raw, fmt = elementary_stream(packets)
    path = tmp_path_factory.mktemp("raw") / "raw"
    path.write_bytes(raw)
    return ffmpeg_md5s(str(path), fmt)[0]


def _write(path: Path, packets: list[VideoPacket], times: list[float]) -> VideoSegmentWriter:
    writer = VideoSegmentWriter(path, track_config("h264", packets[0].data), times[0])
    for p, at in zip(packets, times, strict=True):
        writer.write(at, p)
    writer.close()
    return writer


def _scan(path: Path):  # type: ignore[no-untyped-def]
    with open(path, "rb") as f:
        return scan(f)


def test_a_fragment_per_second_within_long_groups(
    tmp_path: Path, packets: list[VideoPacket], want: list[str]
) -> None:
    path = tmp_path / "a.mp4"
    writer = _write(path, packets, [T0 + i / 15 for i in range(len(packets))])
    found = _scan(path)
    assert [f.base_dts for f in found.fragments] == [i * 15 * TICK for i in range(6)]
    assert [f.starts_with_key for f in found.fragments] == [True, False, False] * 2
    assert writer.frames == found.samples == 90 and writer.size == path.stat().st_size
    assert writer.last == pytest.approx(T0 + 6.0)
    assert ffmpeg_md5s(str(path)) == (want, "")


def test_times_come_from_arrival_when_the_stream_has_none(
    tmp_path: Path, packets: list[VideoPacket]
) -> None:
    bare = [replace(p, pts=None, dts=None) for p in packets[:30]]
    times = [T0 + i / 10 for i in range(30)]  # arriving at 10 fps
    _write(tmp_path / "a.mp4", bare, times)
    found = _scan(tmp_path / "a.mp4")
    assert found.duration == 30 * TIME_BASE // 10


def test_a_stream_clock_that_jumps_is_re_anchored_to_arrival(
    tmp_path: Path, packets: list[VideoPacket], want: list[str]
) -> None:
    # the camera restarts its clock at packet 45 (a keyframe): back to 0, then a jump ahead
    moved = packets[:45] + [replace(p, pts=(p.pts or 0) - 45 * TICK) for p in packets[45:]]
    _write(tmp_path / "back.mp4", moved, [T0 + i / 15 for i in range(90)])
    ahead = packets[:45] + [replace(p, pts=(p.pts or 0) + 3600 * TIME_BASE) for p in packets[45:]]
    _write(tmp_path / "ahead.mp4", ahead, [T0 + i / 15 for i in range(90)])
    for name in ("back.mp4", "ahead.mp4"):
        found = _scan(tmp_path / name)
        assert found.duration == pytest.approx(90 * TICK, abs=TICK)
        assert ffmpeg_md5s(str(tmp_path / name)) == (want, "")


def test_a_group_cut_short_leaves_a_gap_and_goes_on_at_the_next_keyframe(
    tmp_path: Path, packets: list[VideoPacket], want: list[str]
) -> None:
    path = tmp_path / "gap.mp4"
    writer = VideoSegmentWriter(path, track_config("h264", packets[0].data), T0)
    for i in range(20):
        writer.write(T0 + i / 15, packets[i])
    writer.end_group()  # packet 20 was lost
    assert writer.buffered == 0 and writer.frames == 20
    for i in range(45, 90):
        writer.write(T0 + i / 15, packets[i])
    writer.close()
    found = _scan(path)
    # 0-14 (one second), 15-19 (the rest before the loss), then 45-59, 60-74, 75-89
    assert [f.base_dts for f in found.fragments] == [0, 15 * TICK, 45 * TICK, 60 * TICK, 75 * TICK]
    assert found.fragments[1].duration == 5 * TICK  # the last one before the gap: one frame
    assert found.fragments[2].starts_with_key
    got, complaints = ffmpeg_md5s(str(path))
    assert complaints == ""
    assert got[:20] == want[:20] and got[-45:] == want[45:]


def test_a_segment_starts_with_a_keyframe(tmp_path: Path, packets: list[VideoPacket]) -> None:
    writer = VideoSegmentWriter(tmp_path / "a.mp4", track_config("h264", packets[0].data), T0)
    with pytest.raises(ValueError, match="keyframe"):
        writer.write(T0, packets[1])
    writer.close()


def test_recovery_trims_the_cut_fragment(
    tmp_path: Path, packets: list[VideoPacket], want: list[str]
) -> None:
    path = tmp_path / "a.mp4"
    _write(path, packets, [T0 + i / 15 for i in range(90)])
    whole = _scan(path)
    cut = whole.fragments[4].offset + 100
    with open(path, "r+b") as f:
        f.truncate(cut)
    found = recover_segment(path)
    assert found.truncated and path.stat().st_size == found.end == whole.fragments[4].offset
    assert found.samples == 60
    assert ffmpeg_md5s(str(path)) == (want[:60], "")
    assert not recover_segment(path).truncated  # a second recovery changes nothing
