"""A small fragmented-MP4 writer (ISO/IEC 14496-12), one video track, no re-encode.

A file (or a stream for MSE) is an **init segment**, ``ftyp`` + ``moov`` with the
track's sample entry (``avc1``/``hvc1``/``vp08``/``vp09``) and its configuration record,
followed by **media fragments**, each ``moof`` (``mfhd`` sequence number, ``tfhd``,
``tfdt`` base decode time, ``trun`` with every sample's duration, size, sync flag and
composition offset) + ``mdat`` (the samples). Nothing refers forward: a reader can
stop after any complete fragment, which is what makes a file cut by SIGKILL playable.

H.264/H.265 samples are stored length-prefixed (4-byte lengths), without the parameter
sets and access unit delimiters that travel in band on the wire: those live in the
configuration record (``avc1``/``hvc1``), so a change of parameter sets needs a new init
segment. Times are in :data:`~camhub.video.packet.TIME_BASE` ticks (90 kHz).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from camhub.errors import ArgumentError
from camhub.video.codecconfig import CONFIG_BOX, SAMPLE_ENTRY, TrackConfig
from camhub.video.packet import TIME_BASE, Codec

MOVIE_TIMESCALE = 1000
TRACK_ID = 1

_KEY_FLAGS = 0x02000000  # sample_depends_on = 2: decodes alone
_DELTA_FLAGS = 0x01010000  # sample_depends_on = 1, sample_is_non_sync_sample
_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)

# Units that stay out of the samples: the configuration record has the parameter sets,
# and MP4 has its own sample boundaries (access unit delimiters are redundant).
_H264_OUT = {7, 8, 9}  # SPS, PPS, AUD
_HEVC_OUT = {32, 33, 34, 35}  # VPS, SPS, PPS, AUD


def box(kind: bytes, *parts: bytes) -> bytes:
    body = b"".join(parts)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def full_box(kind: bytes, version: int, flags: int, *parts: bytes) -> bytes:
    return box(kind, struct.pack(">I", version << 24 | flags), *parts)


@dataclass(frozen=True, slots=True)
class Sample:
    """One access unit as MP4 stores it."""

    data: bytes
    duration: int
    """Ticks until the next sample's decode time."""
    keyframe: bool
    cts_offset: int = 0
    """``pts - dts`` in ticks (non-zero only for streams with B-frames)."""


def sample_data(codec: Codec, data: bytes) -> bytes:
    """An access unit as it travels (Annex B for H.264/H.265) as an MP4 sample."""
    if codec == "h264":
        shift, mask, out = 0, 0x1F, _H264_OUT
    elif codec == "hevc":
        shift, mask, out = 1, 0x3F, _HEVC_OUT
    else:
        return data
    pieces: list[bytes] = []
    # One pass in C: emulation prevention keeps 00 00 01 out of NAL unit payloads. A
    # four-byte start code leaves its first zero at the end of the unit before it.
    for unit in data.split(b"\x00\x00\x01")[1:]:
        unit = unit.rstrip(b"\x00")
        if unit and (unit[0] >> shift) & mask not in out:
            pieces += (len(unit).to_bytes(4, "big"), unit)
    return b"".join(pieces)


def init_segment(track: TrackConfig) -> bytes:
    """``ftyp`` + ``moov`` for ``track``, duration not known yet (0); a writer that learns
    it at the end puts :func:`camhub.video.fmp4scan.with_duration`'s copy over it."""
    ftyp = box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isom", b"iso6", b"mp41",
               SAMPLE_ENTRY[track.codec])  # fmt: skip
    mvhd = full_box(
        b"mvhd", 0, 0,
        struct.pack(">IIII", 0, 0, MOVIE_TIMESCALE, 0),  # times, scale, duration
        struct.pack(">IH10x", 0x00010000, 0x0100), _MATRIX, bytes(24),
        struct.pack(">I", TRACK_ID + 1),
    )  # fmt: skip
    tkhd = full_box(
        b"tkhd", 0, 3,  # enabled, in the movie
        struct.pack(">III4xI", 0, 0, TRACK_ID, 0),
        bytes(8), struct.pack(">hhH2x", 0, 0, 0), _MATRIX,
        struct.pack(">II", track.width << 16, track.height << 16),
    )  # fmt: skip
    mdhd = full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, TIME_BASE, 0, 0x55C4, 0))
    hdlr = full_box(b"hdlr", 0, 0, struct.pack(">I4s12x", 0, b"vide"), b"camhub video\x00")
    dinf = box(b"dinf", full_box(b"dref", 0, 0, struct.pack(">I", 1), full_box(b"url ", 0, 1)))
    stbl = box(
        b"stbl",
        full_box(b"stsd", 0, 0, struct.pack(">I", 1), _sample_entry(track)),
        full_box(b"stts", 0, 0, struct.pack(">I", 0)),
        full_box(b"stsc", 0, 0, struct.pack(">I", 0)),
        full_box(b"stsz", 0, 0, struct.pack(">II", 0, 0)),
        full_box(b"stco", 0, 0, struct.pack(">I", 0)),
    )
    minf = box(b"minf", full_box(b"vmhd", 0, 1, bytes(8)), dinf, stbl)
    trak = box(b"trak", tkhd, box(b"mdia", mdhd, hdlr, minf))
    mvex = box(
        b"mvex",
        full_box(b"mehd", 0, 0, struct.pack(">I", 0)),
        full_box(b"trex", 0, 0, struct.pack(">IIIII", TRACK_ID, 1, 0, 0, 0)),
    )
    return ftyp + box(b"moov", mvhd, trak, mvex)


def _sample_entry(track: TrackConfig) -> bytes:
    name = b"camhub"
    compressor = bytes([len(name)]) + name.ljust(31, b"\x00")
    return box(
        SAMPLE_ENTRY[track.codec],
        bytes(6), struct.pack(">H", 1),  # reserved, data_reference_index
        bytes(16),  # pre_defined, reserved
        struct.pack(">HHIIIH", track.width, track.height, 0x00480000, 0x00480000, 0, 1),
        compressor, struct.pack(">Hh", 0x0018, -1),
        box(CONFIG_BOX[track.codec], track.record),
    )  # fmt: skip


def fragment(sequence: int, base_dts: int, samples: Sequence[Sample]) -> bytes:
    """One ``moof`` + ``mdat``: ``samples`` decoded from ``base_dts`` on."""
    return b"".join(fragment_parts(sequence, base_dts, samples))


def fragment_parts(sequence: int, base_dts: int, samples: Sequence[Sample]) -> list[bytes]:
    """:func:`fragment` as pieces (``moof``, the ``mdat`` header, each sample's data) for
    one ``os.writev``, which spares copying the samples."""
    if not samples:
        raise ArgumentError("a fragment needs at least one sample")
    offsets = any(s.cts_offset for s in samples)
    flags = 0x000001 | 0x000100 | 0x000200 | 0x000400 | (0x000800 if offsets else 0)
    # Version 1 makes the composition offsets signed (a stream may start before 0).
    version = 1 if any(s.cts_offset < 0 for s in samples) else 0
    row = struct.Struct(">IIIi" if version else ">IIII") if offsets else struct.Struct(">III")
    rows = b"".join(
        row.pack(s.duration, len(s.data), _KEY_FLAGS if s.keyframe else _DELTA_FLAGS,
                 *((s.cts_offset,) if offsets else ()))
        for s in samples
    )  # fmt: skip
    trun_size = 8 + 4 + 8 + len(rows)
    traf_size = 8 + 16 + 20 + trun_size
    moof_size = 8 + 16 + traf_size
    moof = box(
        b"moof",
        full_box(b"mfhd", 0, 0, struct.pack(">I", sequence)),
        box(
            b"traf",
            full_box(b"tfhd", 0, 0x020000, struct.pack(">I", TRACK_ID)),  # default-base-is-moof
            full_box(b"tfdt", 1, 0, struct.pack(">Q", base_dts)),
            full_box(
                b"trun", version, flags, struct.pack(">Ii", len(samples), moof_size + 8), rows
            ),
        ),
    )
    assert len(moof) == moof_size
    size = 8 + sum(len(s.data) for s in samples)
    return [moof, struct.pack(">I4s", size, b"mdat"), *(s.data for s in samples)]
