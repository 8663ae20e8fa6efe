"""Packets in, fragmented-MP4 fragments out: the timing half of writing fMP4, shared by
the recorder's segment files and any live stream (MSE) that wants the same fragments.

Media time 0 is the first packet; ``start`` is its wall time (its arrival at the hub).
Later packets are placed by the stream's own timestamps (``dts``, else ``pts``, 90 kHz)
where the sender gave them, else by their arrival times; a stream clock further than
:data:`CLOCK_JUMP` from arrival time (a camera restarted) is re-anchored to arrival time,
and time never runs backwards.

A fragment ends before a keyframe, or before the packet that would make it span more
than ``max_seconds`` (0: a fragment per packet, each one written when the next arrives
and tells its duration). :meth:`Fragmenter.flush` ends it at once, guessing the last
packet's duration from the one before (a packet was lost, or the stream ends).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from camhub.errors import ArgumentError
from camhub.video.fmp4 import Sample, fragment_parts, sample_data
from camhub.video.packet import TIME_BASE, VideoPacket

CLOCK_JUMP = 5 * TIME_BASE
"""Stream time further than this from arrival time: the stream's clock jumped."""
DEFAULT_DURATION = TIME_BASE // 15
"""The last packet's duration when no earlier one tells (a frame at 15 fps)."""


@dataclass(slots=True)
class _Pending:
    data: bytes
    dts: int
    cts: int
    key: bool


class Fragmenter:
    """``add(at, packet)`` returns the pieces of a fragment when one is complete (for one
    ``writev``, or ``b"".join``), else ``None``. The first packet must be a keyframe."""

    def __init__(self, start: float, max_seconds: float = 1.0) -> None:
        self.start = start
        self.max_ticks = int(max_seconds * TIME_BASE)
        self.fragments = 0
        """Fragments made so far (the last one's ``mfhd`` sequence number)."""
        self.samples = 0
        """Packets in the fragments made so far."""
        self._pending: list[_Pending] = []
        self._origin: int | None = None
        """Stream time (ticks) that is media time 0."""
        self._last_dts = -1
        self._last_duration = DEFAULT_DURATION
        self._gap = False

    @property
    def buffered(self) -> int:
        """Packets held for the fragment not made yet."""
        return len(self._pending)

    @property
    def last_dts(self) -> int:
        """Media decode time (ticks) of the last packet added (-1 before the first)."""
        return self._last_dts

    @property
    def duration(self) -> int:
        """Media ticks from the first packet to the end of the last one added."""
        return self._last_dts + self._last_duration if self._last_dts >= 0 else 0

    def add(self, at: float, packet: VideoPacket) -> list[bytes] | None:
        if self._last_dts < 0 and not packet.keyframe:
            raise ArgumentError("fragmented MP4 must start with a keyframe")
        dts, cts = self._times(at, packet)
        made = None
        pending = self._pending
        if pending and (packet.keyframe or dts - pending[0].dts >= self.max_ticks):
            made = self._make(dts - pending[-1].dts)
        if self._last_dts >= 0 and not self._gap:
            self._last_duration = dts - self._last_dts
        self._gap = False
        self._last_dts = dts
        sample = sample_data(packet.codec, packet.data)
        self._pending.append(_Pending(sample, dts, cts, packet.keyframe))
        return made

    def add_now(self, at: float, packet: VideoPacket) -> list[bytes]:
        """A fragment of ``packet`` alone, made at once (live viewers: waiting for the
        next packet to learn this one's duration would cost a frame of latency). Its
        duration is the interval before it; the next fragment's own decode time
        corrects any guess. Not to be mixed with :meth:`add` on one fragmenter."""
        if self._pending:
            raise ArgumentError("add_now after add: flush the pending fragment first")
        if self._last_dts < 0 and not packet.keyframe:
            raise ArgumentError("fragmented MP4 must start with a keyframe")
        dts, cts = self._times(at, packet)
        if self._last_dts >= 0 and not self._gap:
            self._last_duration = dts - self._last_dts
        self._gap = False
        self._last_dts = dts
        sample = Sample(
            sample_data(packet.codec, packet.data),
            max(1, self._last_duration),
            packet.keyframe,
            cts,
        )
        self.fragments += 1
        self.samples += 1
        return fragment_parts(self.fragments, dts, [sample])

    def gap(self) -> None:
        """Packets were lost before the next one (it is a keyframe): do not take the
        interval across the gap for a frame's duration."""
        self._gap = True

    def flush(self) -> list[bytes] | None:
        """End the fragment now; the next packet starts a new one at its own time (after
        a lost packet, that is the next keyframe)."""
        if not self._pending:
            return None
        self._gap = True
        return self._make(self._last_duration)

    def _times(self, at: float, packet: VideoPacket) -> tuple[int, int]:
        """(media decode time, composition offset) in ticks."""
        wall = round((at - self.start) * TIME_BASE)
        stream = packet.dts if packet.dts is not None else packet.pts
        cts = 0
        if stream is None:
            dts = wall
        else:
            if self._origin is None:
                self._origin = stream
            dts = stream - self._origin
            if abs(dts - wall) > CLOCK_JUMP:  # a new clock: go on from the arrival time
                self._origin = stream - wall
                dts = wall
            if packet.pts is not None and packet.dts is not None:
                cts = packet.pts - packet.dts
        if dts <= self._last_dts:  # time must move forward, whatever the stream says
            dts = self._last_dts + 1
            if stream is not None:
                self._origin = stream - dts
        return dts, cts

    def _make(self, last_duration: int) -> list[bytes]:
        pending = self._pending
        samples = [Sample(p.data, nxt.dts - p.dts, p.key, p.cts) for p, nxt in pairwise(pending)]
        last = pending[-1]
        samples.append(Sample(last.data, max(1, last_duration), last.key, last.cts))
        self._pending = []
        self.fragments += 1
        self.samples += len(samples)
        return fragment_parts(self.fragments, pending[0].dts, samples)
