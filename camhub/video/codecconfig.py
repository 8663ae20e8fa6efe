"""What a video container needs to know about a stream before its first sample: the
decoder configuration record (ISO/IEC 14496-15 ``avcC``/``hvcC``, VP Codec ISO Media File
Format ``vpcC``), the picture size and the RFC 6381 codec string that MSE and
``canPlayType`` take, all read from a keyframe's in-band parameter sets (H.264/H.265) or
frame header (VP8/VP9).

Two keyframes with equal :class:`TrackConfig` can share one init segment; a change
(new resolution, profile, parameter sets) needs a new one.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from camhub.video.packet import (
    H264_PPS,
    H264_SPS,
    HEVC_PPS,
    HEVC_SPS,
    HEVC_VPS,
    BitstreamError,
    Codec,
    _Bits,
    _rbsp,
    coded_size,
    h264_type,
    hevc_type,
    nal_units,
    parameter_sets,
)

SAMPLE_ENTRY: dict[Codec, bytes] = {
    "h264": b"avc1",
    "hevc": b"hvc1",
    "vp8": b"vp08",
    "vp9": b"vp09",
}
"""The MP4 sample entry of each codec (``avc1``/``hvc1``: parameter sets live in the
configuration record, not in the samples)."""

CONFIG_BOX: dict[Codec, bytes] = {"h264": b"avcC", "hevc": b"hvcC", "vp8": b"vpcC", "vp9": b"vpcC"}


@dataclass(frozen=True, slots=True)
class TrackConfig:
    """One video track's description, enough to write an MP4 init segment."""

    codec: Codec
    width: int
    height: int
    record: bytes
    """The body of the configuration box (``avcC``, ``hvcC`` or ``vpcC`` without its
    box header; ``vpcC``'s version and flags included)."""
    codec_string: str
    """RFC 6381, e.g. ``avc1.64001f``."""

    @property
    def mime(self) -> str:
        return f'video/mp4; codecs="{self.codec_string}"'


def track_config(codec: Codec, keyframe: bytes) -> TrackConfig:
    """The track a stream starting at ``keyframe`` needs; :class:`BitstreamError` when
    the keyframe does not carry what it takes (H.264/H.265 parameter sets in band)."""
    size = coded_size(codec, keyframe)
    if size is None:
        raise BitstreamError(f"a {codec} keyframe without its parameter sets or size header")
    if codec == "h264":
        record, text = _avcc(keyframe)
    elif codec == "hevc":
        record, text = _hvcc(keyframe)
    else:
        record, text = _vpcc(codec, keyframe, size)
    return TrackConfig(codec, size[0], size[1], record, text)


def track_key(codec: Codec, keyframe: bytes) -> bytes:
    """What :func:`track_config` reads from ``keyframe``: keyframes with equal keys have
    equal tracks, so a writer compares keys (cheap) and builds tracks only on a change."""
    if codec in ("h264", "hevc"):
        return b"\x00\x00\x01".join(parameter_sets(codec, keyframe))
    return keyframe[:32]  # VP8/VP9: the frame header (and then some, so rarely equal)


# -- H.264 ---------------------------------------------------------------------------------

_HIGH = {100, 110, 122, 144, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135}


def _avcc(keyframe: bytes) -> tuple[bytes, str]:
    units = nal_units(keyframe)
    sps = [u for u in units if h264_type(u) == H264_SPS]
    pps = [u for u in units if h264_type(u) == H264_PPS]
    if not sps or not pps or len(sps[0]) < 4:
        raise BitstreamError("an H.264 keyframe without SPS and PPS in band")
    first = sps[0]
    out = bytearray([1, first[1], first[2], first[3], 0xFF, 0xE0 | len(sps)])
    for unit in sps:
        out += struct.pack(">H", len(unit)) + unit
    out.append(len(pps))
    for unit in pps:
        out += struct.pack(">H", len(unit)) + unit
    if first[1] in _HIGH:  # the high profiles' extension (ISO/IEC 14496-15 5.3.3.1.2)
        chroma, luma_bits, chroma_bits = _h264_format(first)
        out += bytes([0xFC | chroma, 0xF8 | luma_bits, 0xF8 | chroma_bits, 0])
    return bytes(out), f"avc1.{first[1]:02x}{first[2]:02x}{first[3]:02x}"


def _h264_format(sps: bytes) -> tuple[int, int, int]:
    """(chroma_format_idc, bit depth - 8 of luma and of chroma) of a high-profile SPS."""
    b = _Bits(_rbsp(sps, 1))
    b.u(24)  # profile_idc, constraint flags, level_idc
    b.ue()  # seq_parameter_set_id
    chroma = b.ue()
    if chroma == 3:
        b.u(1)  # separate_colour_plane_flag
    return chroma & 3, b.ue() & 7, b.ue() & 7


# -- H.265 ---------------------------------------------------------------------------------


def _hvcc(keyframe: bytes) -> tuple[bytes, str]:
    units = nal_units(keyframe)
    arrays = [
        (kind, [u for u in units if hevc_type(u) == kind])
        for kind in (HEVC_VPS, HEVC_SPS, HEVC_PPS)
    ]
    if any(not found for _kind, found in arrays):
        raise BitstreamError("an H.265 keyframe without VPS, SPS and PPS in band")
    sps = arrays[1][1][0]
    rbsp = _rbsp(sps, 2)
    if len(rbsp) < 13:
        raise BitstreamError("H.265 SPS is too short")
    sub_layers = ((rbsp[0] >> 1) & 7) + 1
    nested = rbsp[0] & 1
    ptl = rbsp[1:13]  # general profile_tier_level: space/tier/profile, 32+48 flag bits, level
    chroma, luma_bits, chroma_bits = _hevc_format(rbsp)
    out = bytearray([1]) + ptl
    out += bytes([0xF0, 0x00, 0xFC, 0xFC | chroma, 0xF8 | luma_bits, 0xF8 | chroma_bits])
    out += b"\x00\x00"  # avgFrameRate: unknown
    out.append((sub_layers & 7) << 3 | nested << 2 | 3)  # constantFrameRate 0, 4-byte lengths
    out.append(len(arrays))
    for kind, found in arrays:
        out += bytes([0x80 | kind]) + struct.pack(">H", len(found))
        for unit in found:
            out += struct.pack(">H", len(unit)) + unit
    return bytes(out), _hevc_codec_string(ptl)


def _hevc_format(rbsp: bytes) -> tuple[int, int, int]:
    """(chroma_format_idc, bit depths - 8) from an H.265 SPS's RBSP."""
    b = _Bits(rbsp)
    b.u(4)
    sub_layers = b.u(3)
    b.u(1)
    b.u(96)
    present = [(b.u(1), b.u(1)) for _ in range(sub_layers)]
    if sub_layers:
        b.u(2 * (8 - sub_layers))
    for profile_present, level_present in present:
        b.u(88 * profile_present + 8 * level_present)
    b.ue()  # sps_seq_parameter_set_id
    chroma = b.ue()
    if chroma == 3:
        b.u(1)
    b.ue()  # width
    b.ue()  # height
    if b.u(1):  # conformance window
        for _ in range(4):
            b.ue()
    return chroma & 3, b.ue() & 7, b.ue() & 7


def _hevc_codec_string(ptl: bytes) -> str:
    space = ptl[0] >> 6
    tier = (ptl[0] >> 5) & 1
    profile = ptl[0] & 0x1F
    compat = int.from_bytes(ptl[1:5], "big")
    reversed_compat = int(f"{compat:032b}"[::-1], 2)
    constraints = list(ptl[5:11])
    while constraints and constraints[-1] == 0:
        constraints.pop()
    parts = [
        "hvc1",
        ("", "A", "B", "C")[space] + str(profile),
        f"{reversed_compat:x}",
        ("H" if tier else "L") + str(ptl[11]),
        *(f"{c:02x}".upper() for c in constraints),
    ]
    return ".".join(parts)


# -- VP8 and VP9 -----------------------------------------------------------------------

# VP9 levels by the largest picture (luma samples) they allow.
_VP9_LEVELS = (
    (36864, 10), (73728, 11), (122880, 20), (245760, 21), (552960, 30), (983040, 31),
    (2228224, 40), (8912896, 50), (35651584, 60),
)  # fmt: skip
# VP9 color_space -> ISO/IEC 23091-2 MatrixCoefficients.
_VP9_MATRIX = {0: 2, 1: 6, 2: 1, 3: 6, 4: 7, 5: 9, 6: 2, 7: 0}


def _vpcc(codec: Codec, keyframe: bytes, size: tuple[int, int]) -> tuple[bytes, str]:
    if codec == "vp8":
        profile, bits, subsampling, full_range, matrix = (keyframe[0] >> 1) & 3, 8, 0, 0, 2
    else:
        profile, bits, subsampling, full_range, matrix = _vp9_format(keyframe)
    area = size[0] * size[1]
    level = next((lv for limit, lv in _VP9_LEVELS if area <= limit), 62)
    record = b"\x01\x00\x00\x00" + struct.pack(  # FullBox: version 1, flags 0
        ">BBBBBBH",
        profile,
        level,
        bits << 4 | subsampling << 1 | full_range,
        2,  # colour primaries: unspecified
        2,  # transfer characteristics: unspecified
        matrix,
        0,  # codecInitializationDataSize: VP8/VP9 have none
    )
    name = "vp08" if codec == "vp8" else "vp09"
    return record, f"{name}.{profile:02d}.{level:02d}.{bits:02d}"


def _vp9_format(head: bytes) -> tuple[int, int, int, int, int]:
    """(profile, bit depth, vpcC chroma subsampling, full range, matrix) of a VP9 key frame."""
    b = _Bits(head[:32])
    b.u(2)  # frame marker
    profile = b.u(1) | (b.u(1) << 1)
    if profile == 3:
        b.u(1)
    b.u(1 + 1 + 1 + 1)  # show_existing_frame, frame_type, show_frame, error_resilient
    b.u(24)  # sync code
    bits = 8
    if profile >= 2:
        bits = 12 if b.u(1) else 10
    space = b.u(3)
    full_range, subsampling = 0, 0  # 4:2:0
    if space != 7:  # not sRGB
        full_range = b.u(1)
        if profile in (1, 3):
            sx, sy = b.u(1), b.u(1)
            subsampling = 3 if not sx and not sy else 2 if sx and not sy else 0
    else:
        full_range, subsampling = 1, 3  # sRGB is 4:4:4
    return profile, bits, subsampling, full_range, _VP9_MATRIX[space]
