"""Bitstream facts read without decoding, checked against FFmpeg's own encoders and
decoders (PyAV): keyframes, parameter sets and picture sizes of real H.264, H.265, VP8
and VP9 streams."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import av
import numpy as np
import pytest

from camhub.video import packet as vp

SIZES = [(640, 480), (1280, 720), (322, 242), (176, 144)]


def encode(codec: str, width: int, height: int, frames: int = 12, gop: int = 5) -> list[Any]:
    """Real packets from FFmpeg's encoder for a moving picture."""
    ctx: Any = av.CodecContext.create(codec, "w")
    ctx.width, ctx.height = width, height
    ctx.pix_fmt = "yuv420p"
    ctx.time_base = Fraction(1, 15)
    ctx.framerate = 15
    ctx.gop_size = gop
    if codec == "libx264":
        ctx.options = {"preset": "ultrafast", "tune": "zerolatency", "bf": "0"}
    elif codec == "libx265":
        ctx.options = {"preset": "ultrafast", "x265-params": "log-level=none:bframes=0"}
    elif codec.startswith("libvpx"):
        ctx.options = {"deadline": "realtime", "cpu-used": "8"}
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    out = []
    for i in range(frames):
        img = np.roll(base, i * 4, axis=1)
        frame = av.VideoFrame.from_ndarray(img, format="bgr24").reformat(format="yuv420p")
        frame.pts = i
        out += ctx.encode(frame)
    out += ctx.encode(None)
    return out


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("encoder", "codec"), [("libx264", "h264"), ("libx265", "hevc")])
def test_annexb_keyframes_parameter_sets_and_size(
    encoder: str, codec: vp.Codec, size: tuple[int, int]
) -> None:
    packets = encode(encoder, *size)
    assert packets
    keys = 0
    for packet in packets:
        data = bytes(packet)
        key = vp.is_keyframe(codec, data)
        assert key == packet.is_keyframe
        if key:
            keys += 1
            # libx264/libx265 repeat the parameter sets in band before every keyframe.
            sets = vp.parameter_sets(codec, data)
            assert len(sets) == (2 if codec == "h264" else 3)
            assert vp.coded_size(codec, data) == size
        else:
            assert vp.coded_size(codec, data) is None
    assert keys >= 2


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("encoder", "codec"), [("libvpx", "vp8"), ("libvpx-vp9", "vp9")])
def test_vp8_vp9_keyframes_and_size(encoder: str, codec: vp.Codec, size: tuple[int, int]) -> None:
    packets = encode(encoder, *size)
    for packet in packets:
        data = bytes(packet)
        assert vp.is_keyframe(codec, data) == packet.is_keyframe
        if packet.is_keyframe:
            assert vp.coded_size(codec, data) == size


def test_parameter_sets_are_put_in_front_of_keyframes_that_lack_them() -> None:
    packets = encode("libx264", 320, 240)
    key = bytes(packets[0])
    sets = vp.parameter_sets("h264", key)
    bare = vp.annexb([u for u in vp.nal_units(key) if u not in sets])
    assert vp.parameter_sets("h264", bare) == []
    fixed = vp.with_parameter_sets("h264", bare, sets)
    assert vp.parameter_sets("h264", fixed) == sets
    assert vp.with_parameter_sets("h264", fixed, sets) == fixed  # not twice
    # What a decoder makes of it: the same picture as from the original keyframe.
    dec: Any = av.CodecContext.create("h264", "r")
    pics = dec.decode(av.Packet(fixed))
    assert pics and (pics[0].width, pics[0].height) == (320, 240)


def test_length_prefixed_access_units_become_annexb() -> None:
    packets = encode("libx264", 320, 240)
    key = bytes(packets[0])
    units = vp.nal_units(key)
    avcc = b"".join(len(u).to_bytes(4, "big") + u for u in units)
    assert vp.nal_units(vp.length_prefixed_to_annexb(avcc)) == units
    with pytest.raises(vp.BitstreamError):
        vp.length_prefixed_to_annexb(avcc[:-3])


def test_codec_string_names_profile_and_level() -> None:
    key = bytes(encode("libx264", 640, 480)[0])
    sps = next(u for u in vp.nal_units(key) if vp.h264_type(u) == vp.H264_SPS)
    text = vp.h264_codec_string(sps)
    assert text.startswith("avc1.") and len(text) == 11
    assert int(text[5:7], 16) == sps[1]


@pytest.mark.parametrize(
    "data", [b"", b"\x00\x00\x01", b"\x00\x00\x01\x67", b"\x00\x00\x01\x67\x64\x00", bytes(64)]
)
def test_garbage_never_raises_anything_but_bitstream_error(data: bytes) -> None:
    for codec in vp.CODECS:
        vp.is_keyframe(codec, data)
        try:
            vp.coded_size(codec, data)
        except vp.BitstreamError:
            pass


def test_unknown_codec_is_refused() -> None:
    with pytest.raises(vp.BitstreamError, match="unknown video codec"):
        vp.VideoPacket("mpeg2", b"", False)  # type: ignore[arg-type]
