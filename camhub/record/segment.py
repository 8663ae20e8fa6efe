"""Recording segments: the camera's own JPEGs, back to back, with their times.

A segment is a short file (``segment_seconds`` long, 10 s by default) in this format::

    magic    b"CAMHUBSEG1\\n"                     11 bytes, once
    record   b"JF" | time: float64 BE | length: uint32 BE | JPEG bytes
    record   ...

No index, no trailer: a writer killed at any moment leaves a file whose complete
records are all readable, and a reader simply stops at the first incomplete one. Every
record is handed to the OS as soon as the recorder has written its batch, so a hub
killed with SIGKILL loses only frames still in its queue. Frames are stored exactly as
they arrived (no decode, no re-encode); :mod:`camhub.record.clip` transcodes to H.264
only when someone asks for a clip.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from camhub.datadir import open_private, private_dir
from camhub.types import CamhubError

MAGIC = b"CAMHUBSEG1\n"
_RECORD = struct.Struct(">2sdI")
_TAG = b"JF"
MAX_FRAME = 64 * 1024 * 1024


class SegmentError(CamhubError):
    """A segment file is missing or not a camhub segment."""


@dataclass(slots=True)
class SegmentScan:
    frames: int
    first: float | None
    last: float | None
    size: int
    """Bytes up to the end of the last complete record."""
    truncated: bool
    """The file ends in an incomplete record (the writer was killed mid-frame)."""


class SegmentWriter:
    """Appends frames to a new segment file; ``flush`` hands them to the OS."""

    def __init__(self, path: Path) -> None:
        self.path = path
        private_dir(path.parent)
        self._file: BinaryIO = open_private(path)  # closed in close()
        self._file.write(MAGIC)
        self.frames = 0
        self.size = len(MAGIC)
        self.first: float | None = None
        self.last: float | None = None

    def write(self, at: float, jpeg: bytes) -> None:
        self._file.write(_RECORD.pack(_TAG, at, len(jpeg)))
        self._file.write(jpeg)
        self.frames += 1
        self.size += _RECORD.size + len(jpeg)
        if self.first is None:
            self.first = at
        self.last = at

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


def _open(path: Path) -> BinaryIO:
    try:
        f = open(path, "rb")  # noqa: SIM115 - the callers close it
    except OSError as exc:
        raise SegmentError(f"cannot read segment {path}: {exc.strerror or exc}") from None
    if f.read(len(MAGIC)) != MAGIC:
        f.close()
        raise SegmentError(f"{path} is not a camhub recording segment")
    return f


def read_segment(
    path: Path, start: float | None = None, end: float | None = None
) -> Iterator[tuple[float, bytes]]:
    """``(time, jpeg)`` for each complete record, optionally only those in [start, end]."""
    with _open(path) as f:
        while True:
            head = f.read(_RECORD.size)
            if len(head) < _RECORD.size:
                return
            tag, at, length = _RECORD.unpack(head)
            if tag != _TAG or length > MAX_FRAME:
                return  # garbage after a crash: keep what came before
            if (start is not None and at < start) or (end is not None and at > end):
                f.seek(length, 1)
                continue
            jpeg = f.read(length)
            if len(jpeg) < length:
                return
            yield at, jpeg


def scan_segment(path: Path) -> SegmentScan:
    """Count complete records without reading the images (recovery after a crash)."""
    frames, first, last = 0, None, None
    with _open(path) as f:
        total = f.seek(0, 2)
        pos = f.seek(len(MAGIC))
        truncated = False
        while pos < total:
            head = f.read(_RECORD.size)
            if len(head) < _RECORD.size:
                truncated = True
                break
            tag, at, length = _RECORD.unpack(head)
            if tag != _TAG or length > MAX_FRAME or pos + _RECORD.size + length > total:
                truncated = True
                break
            pos = f.seek(length, 1)
            frames += 1
            first = at if first is None else first
            last = at
    return SegmentScan(frames, first, last, pos, truncated)
