"""How a clip of a video camera is made: its fMP4 segments remuxed into one fragmented
MP4, with no decode and no encode.

The clip is the first segment's init segment (with the clip's duration written in),
then every fragment that overlaps the range, in order, copied byte for byte except for
two fields: ``mfhd``'s sequence number (1, 2, 3... through the clip) and ``tfdt``'s base
decode time (the fragment's place on the clip's timeline, so gaps between segments stay
gaps). The clip begins at the last fragment that starts with a keyframe at or before
the range's start, so its first picture decodes.

Planning reads only the segments' headers; :meth:`Remux.chunks` then streams the clip
fragment by fragment, so its first bytes leave before the rest is read. How requests for
clips are queued and limited is not this module's business.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import BinaryIO

from camhub.record.clip import MAX_CLIP_SECONDS, ClipError
from camhub.record.index import Segment, SegmentIndex
from camhub.video.fmp4scan import FragmentInfo, retime, scan, with_duration
from camhub.video.packet import TIME_BASE, BitstreamError

log = logging.getLogger("camhub.record")

CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class _Part:
    path: Path
    fragment: FragmentInfo
    base_dts: int
    """Where the fragment starts on the clip's timeline (ticks)."""


@dataclass(frozen=True, slots=True)
class Remux:
    """A planned clip: what :meth:`chunks` will send, known before the first byte."""

    camera: str
    start: float
    """Wall time of the clip's first sample (at or before the asked start)."""
    duration: float
    """Seconds, first sample to the end of the last."""
    mime: str
    init: bytes
    parts: tuple[_Part, ...]

    @property
    def size(self) -> int:
        """Bytes of the whole clip (a ``Content-Length`` known in advance)."""
        return len(self.init) + sum(p.fragment.size for p in self.parts)

    @property
    def samples(self) -> int:
        return sum(p.fragment.samples for p in self.parts)

    def chunks(self) -> Iterator[bytes]:
        """The clip: the init segment, then its fragments in chunks of about
        :data:`CHUNK` bytes (fewer, bigger writes for the server to make)."""
        yield self.init
        sequence = 0
        batch: list[bytes] = []
        size = 0
        for path, parts in groupby(self.parts, key=lambda p: p.path):
            with open(path, "rb") as f:
                for part in parts:
                    sequence += 1
                    for piece in _fragment(f, path, part, sequence):
                        batch.append(piece)
                        size += len(piece)
                        if size >= CHUNK:
                            yield b"".join(batch)
                            batch, size = [], 0
        if batch:
            yield b"".join(batch)

    def write(self, path: Path) -> int:
        """Write the clip to ``path``; returns its size."""
        size = 0
        with open(path, "wb") as out:
            for chunk in self.chunks():
                out.write(chunk)
                size += len(chunk)
        return size


def plan_clip(index: SegmentIndex, camera: str, start: float, end: float) -> Remux | None:
    """The clip of ``camera``'s video segments overlapping [start, end]; ``None`` when
    the range has no video segment (a JPEG camera's range is transcoded instead).

    A change of format inside the range (another resolution or codec: another init
    segment) ends the clip there: one file holds one init segment.
    """
    if not end > start:
        raise ClipError(f"the clip's end ({end}) must be after its start ({start})", 400)
    if end - start > MAX_CLIP_SECONDS:
        raise ClipError(f"clips are at most {MAX_CLIP_SECONDS:g} s long", 400)
    segments = [s for s in index.find(camera, start, end) if s.container == "fmp4"]
    if not segments:
        return None
    parts: list[_Part] = []
    init = b""
    clip_t0 = 0.0
    mime = ""
    timeline = 0  # end of the clip so far (ticks): fragments never overlap
    for seg in segments:
        found = _scan(seg)
        if found is None:
            continue
        seg_init, fragments = found
        base0 = fragments[0].base_dts
        chosen = [
            i
            for i, frag in enumerate(fragments)
            if _wall(seg, frag.base_dts - base0 + frag.duration) > start
            and _wall(seg, frag.base_dts - base0) <= end
        ]
        if not chosen:
            continue
        first, last = chosen[0], chosen[-1]
        if not parts:  # the clip's first picture must decode: back to a keyframe
            while first > 0 and not fragments[first].starts_with_key:
                first -= 1
            init, mime = seg_init, seg.mime
            clip_t0 = _wall(seg, fragments[first].base_dts - base0)
        elif seg_init != init:
            log.info(
                "clip of %s ends at %.3f: the camera's video format changed", camera, seg.start
            )
            break
        offset = round((seg.start - clip_t0) * TIME_BASE) - base0
        for frag in fragments[first : last + 1]:
            dts = max(frag.base_dts + offset, timeline)
            parts.append(_Part(seg.path, frag, dts))
            timeline = dts + frag.duration
    if not parts:
        raise ClipError(f"no recorded video of camera {camera!r} between {start:.3f} and {end:.3f}")
    return Remux(
        camera, clip_t0, timeline / TIME_BASE, mime, with_duration(init, timeline), tuple(parts)
    )


def _fragment(f: BinaryIO, path: Path, part: _Part, sequence: int) -> Iterator[bytes]:
    """The fragment's retimed ``moof``, then its ``mdat`` as read (in pieces)."""
    frag = part.fragment
    f.seek(frag.offset)
    moof = f.read(frag.moof_size)
    if len(moof) < frag.moof_size:
        raise ClipError(f"segment {path} shrank while a clip was read", 500)
    yield retime(moof, sequence, part.base_dts)
    left = frag.size - frag.moof_size
    while left > 0:
        data = f.read(min(left, CHUNK))
        if not data:
            raise ClipError(f"segment {path} shrank while a clip was read", 500)
        left -= len(data)
        yield data


def _wall(seg: Segment, ticks: int) -> float:
    return seg.start + ticks / TIME_BASE


def _scan(seg: Segment) -> tuple[bytes, list[FragmentInfo]] | None:
    """(init segment with no duration, fragments) of a segment, or ``None`` (logged)
    when it is gone, damaged or still has no complete fragment."""
    try:
        with open(seg.path, "rb") as f:
            found = scan(f)
    except (OSError, BitstreamError) as exc:
        log.warning("clip of %s skips segment %s: %s", seg.camera, seg.path, exc)
        return None
    if not found.fragments:
        return None
    return with_duration(found.init, 0), found.fragments
