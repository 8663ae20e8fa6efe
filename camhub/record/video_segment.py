"""Recording segments of video cameras: the camera's own packets in a fragmented MP4 file.

A segment starts on a keyframe with an init segment built from that keyframe's
parameter sets (:mod:`camhub.video.fmp4`). Packets are held in memory until their
fragment is complete: a fragment ends before the next keyframe, or once it spans
:data:`FRAGMENT_SECONDS`, and is then handed to the OS in one ``writev``. A hub killed
with SIGKILL leaves complete fragments plus at most a cut one, which players ignore and
:func:`recover_segment` trims; what it loses is the fragment still in memory.

Times: the segment's first packet is media time 0 and wall time :attr:`first` (its
arrival at the hub). Later packets are placed by the stream's own timestamps (``dts``,
else ``pts``, 90 kHz) where the sender gave them, else by their arrival times; a
stream clock that jumps (a camera restarted) is re-anchored to the arrival times.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from camhub.video.codecconfig import TrackConfig
from camhub.video.fmp4 import Sample, fragment_parts, init_segment, sample_data
from camhub.video.fmp4scan import Fmp4Scan, scan, with_duration
from camhub.video.packet import TIME_BASE, VideoPacket

FRAGMENT_SECONDS = 1.0
"""A fragment spans at most about this long (a GOP, when GOPs are shorter)."""
_FRAGMENT_TICKS = int(FRAGMENT_SECONDS * TIME_BASE)
_CLOCK_JUMP = 5 * TIME_BASE
"""Stream time further than this from arrival time: the stream's clock jumped."""
_DEFAULT_DURATION = TIME_BASE // 15
"""The last sample's duration when no later one tells (a frame at 15 fps)."""


@dataclass(slots=True)
class _Pending:
    data: bytes
    dts: int
    cts: int
    key: bool


class VideoSegmentWriter:
    """Appends one camera's packets to a new fMP4 segment; ``close()`` writes what is
    held and the final duration."""

    def __init__(self, path: Path, track: TrackConfig, at: float) -> None:
        self.path = path
        self.track = track
        self.first: float | None = at
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._init = init_segment(track)
        self._write([self._init])
        self.size = len(self._init)
        self.frames = 0
        """Samples written to the file."""
        self.fragments = 0
        self._pending: list[_Pending] = []
        self._origin: int | None = None
        """Stream time (ticks) that is media time 0."""
        self._last_dts = -1
        self._last_duration = _DEFAULT_DURATION

    @property
    def buffered(self) -> int:
        """Packets held for the fragment not yet written."""
        return len(self._pending)

    @property
    def duration(self) -> int:
        """Media ticks from the first sample to the end of the last one written or held."""
        return self._last_dts + self._last_duration if self._last_dts >= 0 else 0

    @property
    def last(self) -> float | None:
        """Wall time of the end of the last packet written or held."""
        return None if self.first is None else self.first + self.duration / TIME_BASE

    def write(self, at: float, packet: VideoPacket) -> None:
        """Add one packet (``at``: its arrival time). The first must be a keyframe."""
        if self._last_dts < 0 and not packet.keyframe:
            raise ValueError("a video segment must start with a keyframe")
        dts, cts = self._times(at, packet)
        pending = self._pending
        if pending and (packet.keyframe or dts - pending[0].dts >= _FRAGMENT_TICKS):
            self._flush(dts - pending[-1].dts)
        if self._last_dts >= 0:
            self._last_duration = dts - self._last_dts
        self._last_dts = dts
        self._pending.append(
            _Pending(sample_data(packet.codec, packet.data), dts, cts, packet.keyframe)
        )

    def end_group(self) -> None:
        """Write what is held now: the packets after it are lost (a seq gap), so the
        next packet written will be a keyframe."""
        if self._pending:
            self._flush(self._last_duration)

    def _times(self, at: float, packet: VideoPacket) -> tuple[int, int]:
        """(media decode time, composition offset) in ticks."""
        assert self.first is not None
        wall = round((at - self.first) * TIME_BASE)
        stream = packet.dts if packet.dts is not None else packet.pts
        cts = 0
        if stream is None:
            dts = wall
        else:
            if self._origin is None:
                self._origin = stream
            dts = stream - self._origin
            if abs(dts - wall) > _CLOCK_JUMP:  # a new clock: go on from the arrival time
                self._origin = stream - wall
                dts = wall
            if packet.pts is not None and packet.dts is not None:
                cts = packet.pts - packet.dts
        if dts <= self._last_dts:  # time must move forward, whatever the stream says
            dts = self._last_dts + 1
            if stream is not None:
                self._origin = stream - dts
        return dts, cts

    def _flush(self, last_duration: int) -> None:
        pending = self._pending
        samples = [Sample(p.data, nxt.dts - p.dts, p.key, p.cts) for p, nxt in pairwise(pending)]
        last = pending[-1]
        samples.append(Sample(last.data, max(1, last_duration), last.key, last.cts))
        self.fragments += 1
        parts = fragment_parts(self.fragments, pending[0].dts, samples)
        self._pending = []
        self._write(parts)
        self.size += sum(len(p) for p in parts)
        self.frames += len(samples)

    def _write(self, parts: list[bytes]) -> None:
        # One system call for the whole fragment where the OS takes it all at once.
        total = sum(len(p) for p in parts)
        done = os.writev(self._fd, parts)
        if done < total:
            rest = b"".join(parts)[done:]
            while rest:
                rest = rest[os.write(self._fd, rest) :]

    def flush(self) -> None:
        """Nothing to do: fragments reach the OS as soon as they are complete."""

    def close(self) -> None:
        if self._fd < 0:
            return
        try:
            if self._pending:
                self._flush(self._last_duration)
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
