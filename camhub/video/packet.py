"""Compressed video as it travels through camhub: one access unit (one picture's worth of
coded data) per :class:`VideoPacket`, and the bitstream facts camhub reads from it without
decoding (keyframe or not, parameter sets, the coded picture size).

H.264 and H.265 travel in Annex B form (start codes ``00 00 01``/``00 00 00 01`` before each
NAL unit) with their parameter sets (H.264 SPS+PPS, H.265 VPS+SPS+PPS) in front of every
keyframe, so a receiver can start at any keyframe: :func:`with_parameter_sets` puts them
there when a source keeps them out of band. VP8 and VP9 packets are single frames as their
encoders emit them (``keyframe`` comes from the frame header).

Pure Python over bytes: nothing here needs FFmpeg, so senders, the hub and the recorder
share it without importing PyAV.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from camhub.errors import CamhubError

Codec = Literal["h264", "hevc", "vp8", "vp9"]
CODECS: tuple[Codec, ...] = ("h264", "hevc", "vp8", "vp9")
"""Every codec the wire carries, in the order a sender prefers them."""

TIME_BASE = 90_000
"""Ticks per second of :attr:`VideoPacket.pts`/``dts`` (RTP's video clock)."""


class BitstreamError(CamhubError, ValueError):
    """The bytes are not the coded video they claim to be."""


@dataclass(frozen=True, slots=True)
class VideoPacket:
    """One access unit of a video stream."""

    codec: Codec
    data: bytes
    keyframe: bool
    pts: int | None = None
    """Presentation time in :data:`TIME_BASE` ticks of the stream's own clock (``None``:
    use the frame's capture time)."""
    dts: int | None = None
    """Decode time, where it differs from ``pts`` (streams with B-frames)."""

    def __post_init__(self) -> None:
        if self.codec not in CODECS:
            raise BitstreamError(f"unknown video codec {self.codec!r}; known: {', '.join(CODECS)}")


# -- Annex B ---------------------------------------------------------------------------------


def nal_units(data: bytes | memoryview) -> list[bytes]:
    """The NAL units of an Annex B byte stream, without their start codes."""
    buf = bytes(data)
    units: list[bytes] = []
    start = _next_start(buf, 0)
    while start is not None:
        begin = start[1]
        nxt = _next_start(buf, begin)
        end = len(buf) if nxt is None else nxt[0]
        unit = buf[begin:end]
        # A four-byte start code leaves its leading zero on the unit before it.
        units.append(unit.rstrip(b"\x00") if nxt is not None else unit)
        start = nxt
    return [u for u in units if u]


def _next_start(buf: bytes, pos: int) -> tuple[int, int] | None:
    """(position of a ``00 00 01`` start code, position after it), or ``None``."""
    i = buf.find(b"\x00\x00\x01", pos)
    return None if i < 0 else (i, i + 3)


def _unit_starts(buf: bytes) -> Iterator[int]:
    """Where each non-empty NAL unit of an Annex B stream begins (after its start code),
    lazily: the checks below stop at the unit they look for, near the front of an access
    unit, instead of splitting (and copying) every slice of a large keyframe."""
    pos = buf.find(b"\x00\x00\x01")
    size = len(buf)
    while pos >= 0:
        begin = pos + 3
        if begin < size and buf[begin] != 0:  # a zero byte here starts the next code
            yield begin
        pos = buf.find(b"\x00\x00\x01", begin)


def _unit_at(buf: bytes, begin: int) -> bytes:
    """The NAL unit that begins at ``begin`` (as :func:`nal_units` cuts it)."""
    nxt = buf.find(b"\x00\x00\x01", begin)
    return buf[begin:] if nxt < 0 else buf[begin:nxt].rstrip(b"\x00")


def annexb(units: list[bytes]) -> bytes:
    """NAL units joined into an Annex B byte stream (four-byte start codes)."""
    return b"".join(b"\x00\x00\x00\x01" + u for u in units)


def length_prefixed_to_annexb(data: bytes | memoryview, length_size: int = 4) -> bytes:
    """An MP4/RTSP-demuxed (AVCC/HVCC) access unit, ``length_size``-byte lengths before
    each NAL unit, as Annex B."""
    buf = bytes(data)
    units, pos = [], 0
    while pos < len(buf):
        if pos + length_size > len(buf):
            raise BitstreamError("length-prefixed access unit is cut short")
        size = int.from_bytes(buf[pos : pos + length_size], "big")
        pos += length_size
        if size == 0 or pos + size > len(buf):
            raise BitstreamError(f"NAL unit of {size} bytes does not fit the access unit")
        units.append(buf[pos : pos + size])
        pos += size
    return annexb(units)


def h264_type(unit: bytes) -> int:
    return unit[0] & 0x1F


def hevc_type(unit: bytes) -> int:
    return (unit[0] >> 1) & 0x3F


H264_IDR, H264_SPS, H264_PPS = 5, 7, 8
HEVC_VPS, HEVC_SPS, HEVC_PPS = 32, 33, 34
_HEVC_IRAP = range(16, 24)


def is_keyframe(codec: Codec, data: bytes | memoryview) -> bool:
    """Whether a decoder can start at this access unit."""
    if codec == "h264":
        buf = bytes(data)
        return any(buf[i] & 0x1F == H264_IDR for i in _unit_starts(buf))
    if codec == "hevc":
        buf = bytes(data)
        return any((buf[i] >> 1) & 0x3F in _HEVC_IRAP for i in _unit_starts(buf))
    head = bytes(data[:3])
    if not head:
        return False
    if codec == "vp8":
        return head[0] & 0x01 == 0  # frame tag: bit 0 clear = key frame
    return _vp9_keyframe(head)


def _vp9_keyframe(head: bytes) -> bool:
    bits = _Bits(head)
    if bits.u(2) != 2:  # frame marker
        return False
    profile = bits.u(1) | (bits.u(1) << 1)
    if profile == 3:
        bits.u(1)
    if bits.u(1):  # show_existing_frame
        return False
    return bits.u(1) == 0  # frame_type 0 = key frame


def parameter_sets(codec: Codec, data: bytes | memoryview) -> list[bytes]:
    """The parameter-set NAL units an access unit carries (VPS, SPS, PPS), in order."""
    if codec == "h264":
        return [u for u in nal_units(data) if h264_type(u) in (H264_SPS, H264_PPS)]
    if codec == "hevc":
        return [u for u in nal_units(data) if hevc_type(u) in (HEVC_VPS, HEVC_SPS, HEVC_PPS)]
    return []


def with_parameter_sets(codec: Codec, data: bytes, sets: list[bytes]) -> bytes:
    """A keyframe with the stream's parameter sets in front, unless it has its own."""
    if codec not in ("h264", "hevc") or not sets or parameter_sets(codec, data):
        return data
    return annexb(sets) + data


# -- picture size from the sequence parameter set -----------------------------------------------


def coded_size(codec: Codec, data: bytes | memoryview) -> tuple[int, int] | None:
    """``(width, height)`` of the pictures, read from a keyframe's SPS (or a VP8/VP9 key
    frame's header); ``None`` when the packet carries none."""
    if codec == "h264":
        buf = bytes(data)
        for i in _unit_starts(buf):
            if buf[i] & 0x1F == H264_SPS:
                return _sps_size("h264", _unit_at(buf, i))
        return None
    if codec == "hevc":
        buf = bytes(data)
        for i in _unit_starts(buf):
            if (buf[i] >> 1) & 0x3F == HEVC_SPS:
                return _sps_size("hevc", _unit_at(buf, i))
        return None
    if codec == "vp8":
        head = bytes(data[:10])
        if len(head) < 10 or head[0] & 1 or head[3:6] != b"\x9d\x01\x2a":
            return None
        return (
            int.from_bytes(head[6:8], "little") & 0x3FFF,
            int.from_bytes(head[8:10], "little") & 0x3FFF,
        )
    return _vp9_size(bytes(data[:32]))


@functools.lru_cache(maxsize=64)
def _sps_size(codec: Codec, unit: bytes) -> tuple[int, int]:
    """A camera repeats one SPS with every keyframe: read it bit by bit once."""
    return h264_sps_size(unit) if codec == "h264" else hevc_sps_size(unit)


class _Bits:
    """A big-endian bit reader with Exp-Golomb codes, over an RBSP."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def u(self, n: int) -> int:
        value = 0
        for _ in range(n):
            byte = self.pos >> 3
            if byte >= len(self.data):
                raise BitstreamError("parameter set is cut short")
            value = (value << 1) | ((self.data[byte] >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return value

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise BitstreamError("Exp-Golomb code longer than 32 bits")
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k & 1 else -(k // 2)


def _rbsp(unit: bytes, header: int) -> bytes:
    """The payload of a NAL unit with its emulation-prevention bytes (00 00 03) removed."""
    return unit[header:].replace(b"\x00\x00\x03", b"\x00\x00")


_HIGH_PROFILES = {100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135}


def h264_sps_size(sps: bytes) -> tuple[int, int]:
    """Display size (after cropping) declared by an H.264 SPS NAL unit."""
    b = _Bits(_rbsp(sps, 1))
    profile = b.u(8)
    b.u(16)  # constraint flags, level_idc
    b.ue()  # seq_parameter_set_id
    chroma = 1
    separate_planes = 0
    if profile in _HIGH_PROFILES:
        chroma = b.ue()
        if chroma == 3:
            separate_planes = b.u(1)
        b.ue()  # bit_depth_luma_minus8
        b.ue()  # bit_depth_chroma_minus8
        b.u(1)  # qpprime_y_zero_transform_bypass_flag
        if b.u(1):  # seq_scaling_matrix_present_flag
            for i in range(8 if chroma != 3 else 12):
                if b.u(1):
                    _skip_scaling_list(b, 16 if i < 6 else 64)
    b.ue()  # log2_max_frame_num_minus4
    poc_type = b.ue()
    if poc_type == 0:
        b.ue()
    elif poc_type == 1:
        b.u(1)
        b.se()
        b.se()
        for _ in range(b.ue()):
            b.se()
    b.ue()  # max_num_ref_frames
    b.u(1)  # gaps_in_frame_num_value_allowed_flag
    width_mbs = b.ue() + 1
    height_units = b.ue() + 1
    frame_mbs_only = b.u(1)
    if not frame_mbs_only:
        b.u(1)  # mb_adaptive_frame_field_flag
    b.u(1)  # direct_8x8_inference_flag
    width = width_mbs * 16
    height = (2 - frame_mbs_only) * height_units * 16
    if b.u(1):  # frame_cropping_flag
        left, right, top, bottom = b.ue(), b.ue(), b.ue(), b.ue()
        array_type = 0 if separate_planes else chroma
        if array_type == 0:
            unit_x, unit_y = 1, 2 - frame_mbs_only
        else:
            sub_w = 1 if chroma == 3 else 2
            sub_h = 2 if chroma == 1 else 1
            unit_x, unit_y = sub_w, sub_h * (2 - frame_mbs_only)
        width -= unit_x * (left + right)
        height -= unit_y * (top + bottom)
    if width <= 0 or height <= 0:
        raise BitstreamError(f"SPS declares an empty picture ({width}x{height})")
    return width, height


def _skip_scaling_list(b: _Bits, size: int) -> None:
    last = nxt = 8
    for _ in range(size):
        if nxt:
            nxt = (last + b.se() + 256) % 256
        last = nxt or last


def hevc_sps_size(sps: bytes) -> tuple[int, int]:
    """Display size (after the conformance window) declared by an H.265 SPS NAL unit."""
    b = _Bits(_rbsp(sps, 2))
    b.u(4)  # sps_video_parameter_set_id
    sub_layers = b.u(3)
    b.u(1)  # sps_temporal_id_nesting_flag
    b.u(96)  # general profile (88 bits) and level (8 bits)
    present = [(b.u(1), b.u(1)) for _ in range(sub_layers)]
    if sub_layers:
        b.u(2 * (8 - sub_layers))  # reserved_zero_2bits
    for profile_present, level_present in present:
        b.u(88 * profile_present + 8 * level_present)
    b.ue()  # sps_seq_parameter_set_id
    chroma = b.ue()
    if chroma == 3:
        b.u(1)  # separate_colour_plane_flag
    width, height = b.ue(), b.ue()
    if b.u(1):  # conformance_window_flag
        left, right, top, bottom = b.ue(), b.ue(), b.ue(), b.ue()
        sub_w = 2 if chroma in (1, 2) else 1
        sub_h = 2 if chroma == 1 else 1
        width -= sub_w * (left + right)
        height -= sub_h * (top + bottom)
    if width <= 0 or height <= 0:
        raise BitstreamError(f"SPS declares an empty picture ({width}x{height})")
    return width, height


def _vp9_size(head: bytes) -> tuple[int, int] | None:
    try:
        b = _Bits(head)
        if b.u(2) != 2:
            return None
        profile = b.u(1) | (b.u(1) << 1)
        if profile == 3:
            b.u(1)
        if b.u(1) or b.u(1):  # show_existing_frame, or not a key frame
            return None
        b.u(2)  # show_frame, error_resilient_mode
        if b.u(24) != 0x498342:  # sync code
            return None
        if profile >= 2:
            b.u(1)  # ten_or_twelve_bit
        if b.u(3) != 7:  # color_space other than sRGB
            b.u(1)
            if profile in (1, 3):
                b.u(4)
        elif profile in (1, 3):
            b.u(1)
        return b.u(16) + 1, b.u(16) + 1
    except BitstreamError:
        return None


def h264_codec_string(sps: bytes) -> str:
    """The RFC 6381 codec string (``avc1.PPCCLL``) that MSE and WebCodecs want."""
    if len(sps) < 4:
        raise BitstreamError("SPS is too short")
    return f"avc1.{sps[1]:02x}{sps[2]:02x}{sps[3]:02x}"
