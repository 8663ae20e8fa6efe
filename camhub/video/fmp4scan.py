"""Reading back the fragmented MP4 that :mod:`camhub.video.fmp4` writes: where its init
segment and fragments are, each fragment's timing, and the two fields a remux rewrites
(``mfhd`` sequence number, ``tfdt`` base decode time).

Only the headers are read (a few hundred bytes per fragment); sample data is skipped
with ``seek``, so scanning an hour of recording costs milliseconds.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from camhub.video.packet import BitstreamError

MAX_HEADER_BOX = 16 * 1024 * 1024
"""``moov``/``moof`` larger than this are not ours (a 1 s fragment's ``moof`` is ~1 kB)."""


@dataclass(frozen=True, slots=True)
class FragmentInfo:
    offset: int
    """Where its ``moof`` starts in the file."""
    size: int
    """``moof`` + ``mdat`` bytes."""
    moof_size: int
    sequence: int
    base_dts: int
    duration: int
    """Sum of its samples' durations (ticks)."""
    samples: int
    starts_with_key: bool


@dataclass(slots=True)
class Fmp4Scan:
    init: bytes
    """``ftyp`` + ``moov``, as written."""
    fragments: list[FragmentInfo]
    end: int
    """Bytes up to the end of the last complete fragment."""
    truncated: bool
    """Bytes follow ``end`` that are not a complete fragment (a writer killed mid-write)."""

    @property
    def samples(self) -> int:
        return sum(f.samples for f in self.fragments)

    @property
    def duration(self) -> int:
        """Ticks from the first sample's decode time to the end of the last sample."""
        if not self.fragments:
            return 0
        last = self.fragments[-1]
        return last.base_dts + last.duration - self.fragments[0].base_dts


def _header(f: BinaryIO) -> tuple[bytes, int, int] | None:
    """(type, box size, header size) of the box at the file position, or ``None`` at the
    end of the file or a cut header."""
    head = f.read(8)
    if len(head) < 8:
        return None
    size, kind = struct.unpack(">I4s", head)
    if size == 1:
        large = f.read(8)
        if len(large) < 8:
            return None
        return kind, struct.unpack(">Q", large)[0], 16
    if size < 8:
        raise BitstreamError(f"MP4 box {kind!r} has an impossible size {size}")
    return kind, size, 8


def scan(f: BinaryIO) -> Fmp4Scan:
    """Find the init segment and every complete fragment of an open fMP4 file."""
    total = f.seek(0, 2)
    f.seek(0)
    init = bytearray()
    for expected in (b"ftyp", b"moov"):
        found = _header(f)
        if found is None or found[0] != expected or found[1] > MAX_HEADER_BOX:
            raise BitstreamError(f"not a fragmented MP4 file: no {expected.decode()} box")
        body = f.read(found[1] - found[2])
        if len(body) < found[1] - found[2]:
            raise BitstreamError("the init segment is cut short")
        init += struct.pack(">I4s", found[1], found[0]) + body
    fragments: list[FragmentInfo] = []
    pos = end = len(init)
    while pos < total:
        found = _header(f)
        if found is None:
            break
        kind, size, head = found
        if kind != b"moof" or size > MAX_HEADER_BOX or pos + size > total:
            break
        moof = struct.pack(">I4s", size, kind) + f.read(size - head)
        mdat = _header(f)
        if mdat is None or mdat[0] != b"mdat" or pos + size + mdat[1] > total:
            break
        try:
            timing = moof_timing(moof)
        except (BitstreamError, struct.error):
            break  # garbage where a fragment should be: keep what came before
        fragments.append(FragmentInfo(pos, size + mdat[1], size, *timing))
        pos = f.seek(pos + size + mdat[1])
        end = pos
    return Fmp4Scan(bytes(init), fragments, end, end < total)


def _children(data: bytes | bytearray, start: int, stop: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, body start, body end) of the boxes in ``data[start:stop]``."""
    pos = start
    while pos + 8 <= stop:
        size, kind = struct.unpack_from(">I4s", data, pos)
        if size < 8 or pos + size > stop:
            raise BitstreamError(f"MP4 box {kind!r} overruns its parent")
        yield kind, pos + 8, pos + size
        pos += size


def _child(data: bytes | bytearray, start: int, stop: int, kind: bytes) -> tuple[int, int]:
    for found, body, end in _children(data, start, stop):
        if found == kind:
            return body, end
    raise BitstreamError(f"MP4 box {kind.decode()} is missing")


def moof_timing(moof: bytes) -> tuple[int, int, int, int, bool]:
    """(sequence, base decode time, duration, samples, first sample is a sync sample)."""
    mfhd, _ = _child(moof, 8, len(moof), b"mfhd")
    sequence = struct.unpack_from(">I", moof, mfhd + 4)[0]
    traf, traf_end = _child(moof, 8, len(moof), b"traf")
    tfhd, _ = _child(moof, traf, traf_end, b"tfhd")
    tfhd_flags = struct.unpack_from(">I", moof, tfhd)[0] & 0xFFFFFF
    field = tfhd + 8 + (8 if tfhd_flags & 0x01 else 0) + (4 if tfhd_flags & 0x02 else 0)
    default_duration = default_flags = 0
    if tfhd_flags & 0x08:
        default_duration = struct.unpack_from(">I", moof, field)[0]
        field += 4
    if tfhd_flags & 0x10:
        field += 4
    if tfhd_flags & 0x20:
        default_flags = struct.unpack_from(">I", moof, field)[0]
    tfdt, _ = _child(moof, traf, traf_end, b"tfdt")
    version = moof[tfdt]
    base = struct.unpack_from(">Q" if version else ">I", moof, tfdt + 4)[0]
    trun, _ = _child(moof, traf, traf_end, b"trun")
    flags = struct.unpack_from(">I", moof, trun)[0] & 0xFFFFFF
    count = struct.unpack_from(">I", moof, trun + 4)[0]
    pos = trun + 8 + (4 if flags & 0x01 else 0)
    first_flags = default_flags
    if flags & 0x04:  # first-sample-flags
        first_flags = struct.unpack_from(">I", moof, pos)[0]
        pos += 4
    fields = [bit for bit in (0x100, 0x200, 0x400, 0x800) if flags & bit]
    width = len(fields)
    if pos + 4 * width * count > len(moof):
        raise BitstreamError(f"trun claims {count} samples that its moof does not hold")
    table = struct.unpack_from(f">{count * width}I", moof, pos) if fields else ()
    duration = (
        sum(table[fields.index(0x100) :: width]) if 0x100 in fields else count * default_duration
    )
    if 0x400 in fields and count and not flags & 0x04:
        first_flags = table[fields.index(0x400)]
    key = not first_flags & 0x00010000 and (first_flags >> 24) & 3 != 1
    return sequence, base, duration, count, key


def retime(moof: bytes, sequence: int, base_dts: int) -> bytes:
    """The same ``moof`` with a new sequence number and base decode time (``tfdt``
    version 1 as :mod:`~camhub.video.fmp4` writes it)."""
    out = bytearray(moof)
    mfhd, _ = _child(out, 8, len(out), b"mfhd")
    struct.pack_into(">I", out, mfhd + 4, sequence)
    traf, traf_end = _child(out, 8, len(out), b"traf")
    tfdt, _ = _child(out, traf, traf_end, b"tfdt")
    if out[tfdt] != 1:
        raise BitstreamError("only version-1 tfdt boxes can be retimed")
    struct.pack_into(">Q", out, tfdt + 4, base_dts)
    return bytes(out)


def with_duration(init: bytes, duration: int) -> bytes:
    """The init segment with its whole-file duration (ticks of the track's timescale)
    set in ``mvhd``, ``tkhd``, ``mdhd`` and ``mehd``: the length does not change, so a
    writer can put it over the first one when the file is complete."""
    out = bytearray(init)
    duration = min(max(duration, 0), 0xFFFFFFFF)
    moov, moov_end = _top(out, b"moov")
    mvhd, _ = _child(out, moov, moov_end, b"mvhd")
    movie_scale = struct.unpack_from(">I", out, mvhd + 12)[0]
    trak, trak_end = _child(out, moov, moov_end, b"trak")
    mdia, mdia_end = _child(out, trak, trak_end, b"mdia")
    mdhd, _ = _child(out, mdia, mdia_end, b"mdhd")
    track_scale = struct.unpack_from(">I", out, mdhd + 12)[0]
    if out[mvhd] or out[mdhd] or not track_scale:
        raise BitstreamError("only version-0 mvhd/mdhd boxes take a duration")
    movie = min(duration * movie_scale // track_scale, 0xFFFFFFFF)
    struct.pack_into(">I", out, mvhd + 16, movie)
    tkhd, _ = _child(out, trak, trak_end, b"tkhd")
    struct.pack_into(">I", out, tkhd + 20, movie)
    struct.pack_into(">I", out, mdhd + 16, duration)
    mvex, mvex_end = _child(out, moov, moov_end, b"mvex")
    for kind, body, _end in _children(out, mvex, mvex_end):
        if kind == b"mehd":
            struct.pack_into(">I", out, body + 4, duration)
    return bytes(out)


def _top(data: bytes | bytearray, kind: bytes) -> tuple[int, int]:
    return _child(data, 0, len(data), kind)
