"""The fragmenter's timing: a fragment per group or per second, or one per packet for a
live stream (each made when the next packet tells its duration), stream clocks that jump,
arrival times when the stream has none, and a flush after a lost packet."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from camhub.video.codecconfig import track_config
from camhub.video.fmp4 import init_segment
from camhub.video.fmp4scan import scan
from camhub.video.fragmenter import Fragmenter
from camhub.video.packet import TIME_BASE, VideoPacket
from tests.video.coded import elementary_stream, encode, ffmpeg_md5s, scene

TICK = TIME_BASE // 15
T0 = 1_700_000_000.0


@pytest.fixture(scope="module")
def packets() -> list[VideoPacket]:
    return encode("h264", scene(45, (160, 120)), gop=15)


def _run(fragmenter: Fragmenter, packets: list[VideoPacket], times: list[float]) -> list[bytes]:
    out = []
    for p, at in zip(packets, times, strict=True):
        made = fragmenter.add(at, p)
        if made:
            out.append(b"".join(made))
    last = fragmenter.flush()
    if last:
        out.append(b"".join(last))
    return out


def test_a_fragment_per_packet_for_live_streams(tmp_path: Path, packets: list[VideoPacket]) -> None:
    fragmenter = Fragmenter(T0, max_seconds=0)
    made = []
    for i, p in enumerate(packets):
        got = fragmenter.add(T0 + i / 15, p)
        assert (got is None) == (i == 0)  # each packet's fragment leaves with the next one
        if got:
            made.append(b"".join(got))
    assert fragmenter.buffered == 1
    made.append(b"".join(fragmenter.flush() or []))
    path = tmp_path / "live.mp4"
    path.write_bytes(init_segment(track_config("h264", packets[0].data)) + b"".join(made))
    with open(path, "rb") as f:
        found = scan(f)
    assert [fr.samples for fr in found.fragments] == [1] * 45
    assert [fr.base_dts for fr in found.fragments] == [i * TICK for i in range(45)]
    raw, fmt = elementary_stream(packets)
    (tmp_path / "raw").write_bytes(raw)
    assert ffmpeg_md5s(str(path)) == (ffmpeg_md5s(str(tmp_path / "raw"), fmt)[0], "")


def test_groups_and_seconds(packets: list[VideoPacket]) -> None:
    fragmenter = Fragmenter(T0, max_seconds=0.5)  # shorter than a group (1 s)
    made = _run(fragmenter, packets, [T0 + i / 15 for i in range(45)])
    assert len(made) == 6 and fragmenter.samples == 45 and fragmenter.duration == 45 * TICK


def test_the_first_packet_must_be_a_keyframe(packets: list[VideoPacket]) -> None:
    with pytest.raises(ValueError, match="keyframe"):
        Fragmenter(T0).add(T0, packets[1])


def test_a_flush_guesses_the_last_duration_from_before_the_gap(packets: list[VideoPacket]) -> None:
    fragmenter = Fragmenter(T0)
    for i in range(10):
        fragmenter.add(T0 + i / 15, packets[i])
    assert fragmenter.flush() is not None
    fragmenter.add(T0 + 30 / 15, packets[30])  # the next keyframe, 20 frames later
    assert fragmenter.duration == 31 * TICK  # its own duration: one frame, not the gap


def test_clocks_that_jump_or_are_missing(packets: list[VideoPacket]) -> None:
    times = [T0 + i / 10 for i in range(45)]
    bare = [replace(p, pts=None) for p in packets]
    fragmenter = Fragmenter(T0)
    _run(fragmenter, bare, times)
    assert fragmenter.duration == 44 * TIME_BASE // 10 + TIME_BASE // 10  # arrival at 10 fps
    reset = packets[:15] + [replace(p, pts=(p.pts or 0) - 10**9) for p in packets[15:]]
    fragmenter = Fragmenter(T0)
    _run(fragmenter, reset, [T0 + i / 15 for i in range(45)])
    assert fragmenter.duration == pytest.approx(45 * TICK, abs=TICK)
