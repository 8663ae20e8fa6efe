"""SIGKILL during video recording: a real hub process records a video camera in fMP4
segments; after the kill, the segment it was writing plays as it was left (FFmpeg and
chromium) up to its last complete fragment, every packet it reported written is there,
and the next start trims and closes that segment."""

from __future__ import annotations

import shutil
import signal
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from camhub.record.index import SegmentIndex
from camhub.video.fmp4scan import scan
from tests.conftest import start_peer, stop_peer
from tests.video.coded import encode, ffmpeg_md5s, scene
from tests.video.player import launch, play_file

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def page(playwright: Any) -> Iterator[Any]:
    browser = launch(playwright)
    yield browser.new_page()
    browser.close()


def test_sigkill_leaves_playable_video_segments(tmp_path: Path, page: Any) -> None:
    packets = encode("h264", scene(60, (320, 240)), gop=15, fps=30)
    loop = tmp_path / "packets"
    loop.write_bytes(
        b"".join(struct.pack(">BI", p.keyframe, len(p.data)) + p.data for p in packets)
    )
    data = tmp_path / "data"
    proc = start_peer("record_video_process.py", str(data), str(loop))
    written = 0
    try:
        assert proc.stdout is not None
        # three 1-second segments, then kill while one is open with a fragment written
        deadline = time.monotonic() + 3.2
        while True:
            line = proc.stdout.readline()
            if line.startswith("WRITTEN"):
                written, in_open = (int(n) for n in line.split()[1:])
                if time.monotonic() > deadline and in_open > 0:
                    break
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
    finally:
        stop_peer(proc)
    assert written >= 60

    index = SegmentIndex.open(data)
    try:
        (cut,) = [s for s in index.find("cam") if not s.closed]  # the one it was writing
        left = tmp_path / "as-left.mp4"
        shutil.copyfile(cut.path, left)
        with open(left, "rb") as f:
            complete = scan(f)
        assert complete.samples > 0
        # as the kill left it: FFmpeg and chromium play its complete fragments
        got, _complaints = ffmpeg_md5s(str(left))
        assert len(got) >= complete.samples
        played = play_file(page, left)
        assert played["ended"] and played["error"] is None, played
        assert played["frames"] >= complete.samples

        assert index.recover() == 1
        segs = index.find("cam")
        assert len(segs) >= 3 and all(s.closed and s.container == "fmp4" for s in segs)
        frames = 0
        last_end = 0.0
        for seg in segs:
            got, complaints = ffmpeg_md5s(str(seg.path))
            assert complaints == "" and len(got) == seg.frames > 0
            assert seg.start >= last_end - 0.05  # in order, no overlap
            last_end = seg.end
            frames += seg.frames
            with open(seg.path, "rb") as f:
                assert not scan(f).truncated
        assert frames >= written
    finally:
        index.close()
