"""The fragmented-MP4 writer against FFmpeg's own command line: every picture of real
H.264, H.265, VP8 and VP9 streams (and H.264 with B-frames) comes out of our MP4 exactly
as it comes out of the bare elementary stream; what we wrote reads back."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from camhub.video import fmp4
from camhub.video.codecconfig import track_config
from camhub.video.fmp4scan import retime, scan, with_duration
from camhub.video.packet import TIME_BASE, BitstreamError, Codec, VideoPacket, annexb, nal_units
from tests.video.coded import elementary_stream, encode, ffmpeg_md5s, scene

pytestmark = pytest.mark.timeout(120)

TICK = TIME_BASE // 15


def write_mp4(packets: list[VideoPacket], per_fragment: int | None = None) -> bytes:
    """An init segment and one fragment per GOP (or per ``per_fragment`` packets)."""
    track = track_config(packets[0].codec, packets[0].data)
    groups: list[list[VideoPacket]] = []
    for i, p in enumerate(packets):
        cut = p.keyframe if per_fragment is None else i % per_fragment == 0
        if cut or not groups:
            groups.append([])
        groups[-1].append(p)
    dts0 = _dts(packets[0])
    out = fmp4.init_segment(track)
    for seq, group in enumerate(groups, 1):
        samples = [
            fmp4.Sample(fmp4.sample_data(p.codec, p.data), TICK, p.keyframe, (p.pts or 0) - _dts(p))
            for p in group
        ]
        out += fmp4.fragment(seq, _dts(group[0]) - dts0, samples)
    return out


def _dts(p: VideoPacket) -> int:
    return p.dts if p.dts is not None else p.pts or 0


@pytest.fixture(scope="module")
def frames() -> list:  # type: ignore[type-arg]
    return scene(45, (320, 240))


@pytest.mark.parametrize(
    ("codec", "bframes"), [("h264", 0), ("h264", 2), ("hevc", 0), ("vp8", 0), ("vp9", 0)]
)
def test_every_picture_decodes_as_from_the_elementary_stream(
    tmp_path: Path,
    frames: list,
    codec: Codec,
    bframes: int,  # type: ignore[type-arg]
) -> None:
    packets = encode(codec, frames, gop=15, bframes=bframes)
    assert sum(p.keyframe for p in packets) >= 3
    if bframes:
        assert any(p.dts is not None for p in packets)  # really reordered
    mp4 = tmp_path / "out.mp4"
    mp4.write_bytes(write_mp4(packets))
    raw, fmt = elementary_stream(packets)
    (tmp_path / "raw").write_bytes(raw)
    got, complaints = ffmpeg_md5s(str(mp4))
    want, _ = ffmpeg_md5s(str(tmp_path / "raw"), fmt)
    assert complaints == ""
    assert len(want) == len(frames)
    assert got == want


def test_fragments_need_not_start_on_keyframes(tmp_path: Path, frames: list) -> None:  # type: ignore[type-arg]
    packets = encode("h264", frames, gop=30)
    mp4 = tmp_path / "out.mp4"
    mp4.write_bytes(write_mp4(packets, per_fragment=7))  # a fragment per ~0.5 s
    got, complaints = ffmpeg_md5s(str(mp4))
    raw, fmt = elementary_stream(packets)
    (tmp_path / "raw").write_bytes(raw)
    assert (got, complaints) == (ffmpeg_md5s(str(tmp_path / "raw"), fmt)[0], "")


def test_track_descriptions_name_the_codec_as_browsers_expect(frames: list) -> None:  # type: ignore[type-arg]
    h264 = track_config("h264", encode("h264", frames[:2])[0].data)
    sps = next(u for u in nal_units(encode("h264", frames[:2])[0].data) if u[0] & 0x1F == 7)
    assert h264.codec_string == f"avc1.{sps[1]:02x}{sps[2]:02x}{sps[3]:02x}"
    assert (h264.width, h264.height) == (320, 240)
    assert h264.mime == f'video/mp4; codecs="{h264.codec_string}"'
    assert re.fullmatch(r"hvc1\.1\.6\.L\d+(\.[0-9A-F]{2})*", track_config(
        "hevc", encode("hevc", frames[:2])[0].data).codec_string)  # fmt: skip
    assert (
        track_config("vp9", encode("vp9", frames[:2])[0].data).codec_string == "vp09.00.20.08"
    )  # 76,800 luma samples: level 2
    assert track_config("vp8", encode("vp8", frames[:2])[0].data).codec_string.startswith("vp08.")
    init = fmp4.init_segment(h264)
    assert init[4:8] == b"ftyp" and b"avc1" in init and b"avcC" in init and b"mvex" in init


def test_a_keyframe_without_parameter_sets_is_refused(frames: list) -> None:  # type: ignore[type-arg]
    key = encode("h264", frames[:2])[0].data
    bare = annexb([u for u in nal_units(key) if u[0] & 0x1F not in (7, 8)])
    with pytest.raises(BitstreamError, match="parameter sets"):
        track_config("h264", bare)
    with pytest.raises(BitstreamError):
        track_config("hevc", b"\x00\x00\x01\x40\x01garbage")


def test_samples_carry_no_parameter_sets_and_length_prefixes(frames: list) -> None:  # type: ignore[type-arg]
    key = encode("h264", frames[:2])[0].data
    sample = fmp4.sample_data("h264", key)
    pos, types = 0, []
    while pos < len(sample):
        size = int.from_bytes(sample[pos : pos + 4], "big")
        types.append(sample[pos + 4] & 0x1F)
        pos += 4 + size
    assert pos == len(sample) and 5 in types and 7 not in types and 8 not in types


def test_what_was_written_reads_back(tmp_path: Path, frames: list) -> None:  # type: ignore[type-arg]
    packets = encode("h264", frames, gop=15)
    data = write_mp4(packets)
    found = scan(io.BytesIO(data))
    keys = [i for i, p in enumerate(packets) if p.keyframe]
    assert [f.sequence for f in found.fragments] == list(range(1, len(keys) + 1))
    assert [f.base_dts for f in found.fragments] == [k * TICK for k in keys]
    assert all(f.starts_with_key for f in found.fragments)
    assert found.samples == len(packets) and found.duration == len(packets) * TICK
    assert found.end == len(data) and not found.truncated
    assert found.init == data[: len(found.init)]
    # retime: the same fragment, another place in another file
    first = found.fragments[1]
    moof = data[first.offset : first.offset + first.moof_size]
    moved = retime(moof, 7, 123_456)
    assert len(moved) == len(moof)
    again = scan(
        io.BytesIO(
            found.init + moved + data[first.offset + first.moof_size : first.offset + first.size]
        )
    )
    assert (again.fragments[0].sequence, again.fragments[0].base_dts) == (7, 123_456)
    # with_duration: same length, and FFmpeg reads the duration
    timed = with_duration(found.init, 3 * TIME_BASE)
    assert len(timed) == len(found.init)
    probe = tmp_path / "timed.mp4"
    probe.write_bytes(timed + data[len(found.init) :])
    import subprocess

    import imageio_ffmpeg

    out = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-i", str(probe)], capture_output=True, text=True
    )
    assert "Duration: 00:00:03.00" in out.stderr


def test_a_file_cut_anywhere_keeps_its_complete_fragments(tmp_path: Path, frames: list) -> None:  # type: ignore[type-arg]
    packets = encode("h264", frames, gop=15)
    data = write_mp4(packets)
    whole = scan(io.BytesIO(data))
    raw, fmt = elementary_stream(packets)
    (tmp_path / "raw").write_bytes(raw)
    want, _ = ffmpeg_md5s(str(tmp_path / "raw"), fmt)
    for frag in whole.fragments[1:]:
        for cut in (
            frag.offset + 3,
            frag.offset + frag.moof_size + 10,
            frag.offset + frag.size - 1,
        ):
            found = scan(io.BytesIO(data[:cut]))
            assert found.truncated and found.end == frag.offset
            path = tmp_path / "cut.mp4"
            path.write_bytes(data[:cut])
            got, _complaints = ffmpeg_md5s(str(path))
            assert got[: found.samples] == want[: found.samples]
            # what is left after trimming decodes cleanly
            path.write_bytes(data[: found.end])
            assert ffmpeg_md5s(str(path)) == (want[: found.samples], "")


def test_what_is_not_an_mp4_is_refused() -> None:
    for junk in (
        b"",
        b"\x00\x00\x00\x08free",
        b"CAMHUBSEG1\n" + bytes(40),
        b"\x00\x00\x00\x01ftyp",
    ):
        with pytest.raises(BitstreamError):
            scan(io.BytesIO(junk))
