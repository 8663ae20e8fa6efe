"""Clips of video cameras are remuxes of their segments: the fragments of the range
behind one init segment, renumbered and retimed, starting at a keyframe; every picture
is the camera's own (FFmpeg decodes exactly the stream's pictures), gaps stay gaps, a
change of format ends the clip, and JPEG ranges are left to the transcoder."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import imageio_ffmpeg
import pytest

from camhub.record.clip import ClipError
from camhub.record.remux import plan_clip
from camhub.record.settings import CameraRecording, RecordSettings
from camhub.types import Frame
from camhub.video.fmp4scan import scan
from camhub.video.packet import TIME_BASE, VideoPacket
from tests.record.helpers import jpeg_at
from tests.record.video import FPS, T0, Rig
from tests.video.coded import encode, ffmpeg_md5s, scene

pytestmark = pytest.mark.timeout(120)
TICK = TIME_BASE // FPS


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    settings = RecordSettings(
        default=CameraRecording("continuous"), segment_seconds=2.0, min_free_gb=0, keep_days=0
    )
    r = Rig(tmp_path, settings)
    yield r
    r.close()


def _clip(rig: Rig, tmp_path: Path, start: float, end: float) -> tuple[Path, object]:
    remux = plan_clip(rig.rec.index, "door", start, end)
    assert remux is not None
    path = tmp_path / "clip.mp4"
    assert remux.write(path) == remux.size == path.stat().st_size
    return path, remux


def test_a_clip_starts_at_the_keyframe_before_it_and_holds_the_cameras_pictures(
    rig: Rig, tmp_path: Path, packets: list[VideoPacket], want: list[str]
) -> None:
    rig.put("door", packets, 0)
    rig.rec.stop()
    path, remux = _clip(rig, tmp_path, T0 + 1.5, T0 + 4.5)
    assert remux.start == pytest.approx(T0 + 1.0)  # type: ignore[attr-defined]
    # fragments are whole seconds (a GOP each): 1.0 .. 5.0 s of the recording
    assert ffmpeg_md5s(str(path)) == (want[15:75], "")
    with open(path, "rb") as f:
        found = scan(f)
    assert [fr.sequence for fr in found.fragments] == [1, 2, 3, 4]
    assert [fr.base_dts for fr in found.fragments] == [0, 15 * TICK, 30 * TICK, 45 * TICK]
    assert found.duration == 60 * TICK
    probe = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-i", str(path)], capture_output=True, text=True
    )
    assert "Duration: 00:00:04.00" in probe.stderr
    # the whole recording, across its three segments
    whole, _ = _clip(rig, tmp_path, T0 - 10, T0 + 100)
    assert ffmpeg_md5s(str(whole)) == (want, "")


def test_a_pause_in_the_recording_stays_a_pause_in_the_clip(
    rig: Rig, tmp_path: Path, packets: list[VideoPacket], want: list[str]
) -> None:
    rig.put("door", packets[:30], 0)
    rig.put("door", packets[30:], 75)  # the camera was away for 3 s (seq goes on there too)
    rig.rec.stop()
    path, remux = _clip(rig, tmp_path, T0, T0 + 100)
    assert ffmpeg_md5s(str(path)) == (want, "")
    with open(path, "rb") as f:
        found = scan(f)
    starts = [fr.base_dts for fr in found.fragments]
    assert starts[2] == 75 * TICK  # after the pause, at its real place
    assert remux.duration == pytest.approx(135 / FPS)  # type: ignore[attr-defined]


def test_a_change_of_format_ends_the_clip(
    rig: Rig, tmp_path: Path, packets: list[VideoPacket], want: list[str]
) -> None:
    small = encode("h264", scene(30, (96, 64), seed=1), gop=15)
    rig.put("door", packets[:30], 0)
    rig.put("door", small, 30)
    rig.rec.stop()
    path, _remux = _clip(rig, tmp_path, T0, T0 + 100)
    assert ffmpeg_md5s(str(path)) == (want[:30], "")


def test_jpeg_ranges_and_empty_ranges_and_bad_ranges(rig: Rig) -> None:
    for i in range(10):
        at = T0 + i / FPS
        rig.store.put(Frame("yard", jpeg=jpeg_at(i), seq=i, received_at=at), "test")
    rig.put("door", [], 0)
    rig.rec.stop()
    assert plan_clip(rig.rec.index, "yard", T0, T0 + 10) is None  # the transcoder's
    assert plan_clip(rig.rec.index, "door", T0, T0 + 10) is None  # nothing at all
    with pytest.raises(ClipError) as bad:
        plan_clip(rig.rec.index, "door", T0 + 10, T0)
    assert bad.value.status == 400
    with pytest.raises(ClipError, match="at most"):
        plan_clip(rig.rec.index, "door", T0, T0 + 7200)


def test_a_segment_still_being_written_gives_its_complete_fragments(
    rig: Rig, tmp_path: Path, packets: list[VideoPacket], want: list[str]
) -> None:
    rig.put("door", packets[:40], 0)  # 0-29 closed (2 s), 30-39 open: fragment 30-44 held
    path, _remux = _clip(rig, tmp_path, T0, T0 + 100)
    assert ffmpeg_md5s(str(path)) == (want[:30], "")
    with pytest.raises(ClipError, match="no recorded video"):
        plan_clip(rig.rec.index, "door", T0 + 2.1, T0 + 2.5)
