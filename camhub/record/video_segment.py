"""Recording segments of video cameras: the camera's own packets in a fragmented MP4 file.

A segment starts on a keyframe with an init segment built from that keyframe's
parameter sets (:mod:`camhub.video.fmp4`). Packets are held in memory until their
fragment is complete (:mod:`camhub.video.fragmenter`: before the next keyframe, or once
it spans :data:`FRAGMENT_SECONDS`), and each fragment is then handed to the OS in one
``writev``. A hub killed with SIGKILL leaves complete fragments plus at most a cut one,
which players ignore and :func:`recover_segment` trims; what it loses is the fragment
still in memory. When the segment closes, its init segment is written again with the
duration filled in (same length).
"""

from __future__ import annotations

import os
from pathlib import Path

from camhub.datadir import PRIVATE_FILE, private_dir
from camhub.video.codecconfig import TrackConfig
from camhub.video.fmp4 import init_segment
from camhub.video.fmp4scan import Fmp4Scan, scan, with_duration
from camhub.video.fragmenter import Fragmenter
from camhub.video.packet import TIME_BASE, VideoPacket

FRAGMENT_SECONDS = 1.0
"""A fragment spans at most about this long (a GOP, when GOPs are shorter)."""


class VideoSegmentWriter:
    """Appends one camera's packets to a new fMP4 segment; ``close()`` writes what is
    held and the final duration."""

    def __init__(self, path: Path, track: TrackConfig, at: float) -> None:
        self.path = path
        self.track = track
        self.first: float | None = at
        """Wall time of media time 0 (the first packet's arrival)."""
        self._fragments = Fragmenter(at, FRAGMENT_SECONDS)
        private_dir(path.parent)
        # As datadir.open_private (0600, never through a link), unbuffered for writev.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        self._fd = os.open(path, flags, PRIVATE_FILE)
        self._init = init_segment(track)
        self.size = 0
        self._write([self._init])

    @property
    def frames(self) -> int:
        """Packets written to the file."""
        return self._fragments.samples

    @property
    def buffered(self) -> int:
        """Packets held for the fragment not yet written."""
        return self._fragments.buffered

    @property
    def duration(self) -> int:
        """Media ticks from the first packet to the end of the last one written or held."""
        return self._fragments.duration

    @property
    def last(self) -> float | None:
        """Wall time of the end of the last packet written or held."""
        return None if self.first is None else self.first + self.duration / TIME_BASE

    def write(self, at: float, packet: VideoPacket) -> None:
        """Add one packet (``at``: its arrival time). The first must be a keyframe."""
        parts = self._fragments.add(at, packet)
        if parts:
            self._write(parts)

    def end_group(self) -> None:
        """Write what is held now: the packets after it are lost (a seq gap), so the
        next packet written will be a keyframe."""
        parts = self._fragments.flush()
        if parts:
            self._write(parts)

    def _write(self, parts: list[bytes]) -> None:
        # One system call for the whole fragment where the OS takes it all at once.
        total = sum(len(p) for p in parts)
        done = os.writev(self._fd, parts)
        if done < total:
            rest = b"".join(parts)[done:]
            while rest:
                rest = rest[os.write(self._fd, rest) :]
        self.size += total

    def flush(self) -> None:
        """Nothing to do: fragments reach the OS as soon as they are complete."""

    def close(self) -> None:
        if self._fd < 0:
            return
        try:
            self.end_group()
            os.pwrite(self._fd, with_duration(self._init, self.duration), 0)
        finally:
            os.close(self._fd)
            self._fd = -1


def recover_segment(path: Path) -> Fmp4Scan:
    """Scan a segment whose writer died, cut off its incomplete last fragment and write
    its duration; raises OSError or :class:`~camhub.video.BitstreamError`."""
    with open(path, "r+b") as f:
        found = scan(f)
        if found.truncated:
            f.truncate(found.end)
        f.seek(0)
        f.write(with_duration(found.init, found.duration))
    return found
