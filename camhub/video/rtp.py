"""RTP as an RTSP camera sends it: packets in, whole access units out, each as soon as its
last packet arrives, stamped with the wall-clock time the camera took the picture.

* :func:`parse_rtp` reads an RTP packet (RFC 3550).
* :class:`Depacketizer` turns the RTP payloads of an H.264 (RFC 6184) or H.265 (RFC 7798)
  stream back into access units in Annex B form. The RTP marker bit ends an access unit,
  so nothing waits for the next picture to begin (FFmpeg's parser does wait: it finds
  the end of a picture at the start of the next, a frame interval late).
* :func:`sender_reports` and :class:`RtpClock` map the stream's RTP timestamps to wall
  clock time through the NTP times in the camera's RTCP sender reports.

Pure Python over bytes, no I/O: the RTSP client (:mod:`camhub.sources.rtspclient`)
feeds it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import NamedTuple

from camhub.errors import VideoError
from camhub.video.packet import H264_IDR, Codec, annexb, hevc_type

NTP_UNIX_OFFSET = 2_208_988_800
"""Seconds from the NTP epoch (1900) to the Unix epoch (1970)."""


class RtpError(VideoError, ValueError):
    """Bytes that are not the RTP or RTCP packet they should be."""


class RtpPacket(NamedTuple):  # a tuple: built ~100 times a frame, it must be cheap
    payload_type: int
    marker: bool
    seq: int
    timestamp: int
    ssrc: int
    payload: bytes


def parse_rtp(data: bytes) -> RtpPacket:
    """One RTP packet; :class:`RtpError` if it is not one."""
    if len(data) < 12:
        raise RtpError(f"RTP packet of {len(data)} bytes is shorter than its header")
    b0, b1, seq, timestamp, ssrc = struct.unpack_from("!BBHII", data)
    if b0 >> 6 != 2:
        raise RtpError(f"RTP version {b0 >> 6}, expected 2")
    pos = 12 + 4 * (b0 & 0x0F)  # CSRC list
    if b0 & 0x10:  # header extension: 16-bit profile, 16-bit length in words
        if len(data) < pos + 4:
            raise RtpError("RTP header extension is cut short")
        pos += 4 + 4 * struct.unpack_from("!H", data, pos + 2)[0]
    end = len(data)
    if b0 & 0x20:  # padding: the last byte says how much
        end -= data[-1]
    if pos > end:
        raise RtpError("RTP header is longer than the packet")
    return RtpPacket(b1 & 0x7F, bool(b1 & 0x80), seq, timestamp, ssrc, data[pos:end])


class AccessUnit(NamedTuple):
    """One picture's NAL units, in Annex B form."""

    data: bytes
    timestamp: int
    """RTP timestamp (the stream's clock, usually 90 kHz)."""
    keyframe: bool
    complete: bool
    """False when a packet of it (or before it, since the last keyframe) was lost."""


@dataclass(slots=True)
class _Unit:
    timestamp: int
    nals: list[bytes] = field(default_factory=list)
    damaged: bool = False


class Depacketizer:
    """Reassembles an H.264 or H.265 RTP stream into access units.

    :meth:`push` returns the access units a packet completed: the current one when the
    packet carries the marker bit, the previous one when a packet with a new timestamp
    shows that a camera left the marker out. A lost packet (a gap in sequence numbers)
    marks what follows incomplete until the next keyframe, since nothing after it
    decodes."""

    def __init__(self, codec: Codec) -> None:
        if codec not in ("h264", "hevc"):
            raise RtpError(f"no RTP depacketizer for {codec}")
        self.codec: Codec = codec
        self._unit: _Unit | None = None
        self._fragment: bytearray | None = None
        self._next_seq: int | None = None
        self._broken = True  # nothing decodes before the first keyframe
        self._gap = False
        """A packet was lost since the current unit began (or before the next one)."""
        self.lost = 0
        """Packets missing from the sequence."""
        self.unknown = 0
        """Packets of a payload format this depacketizer does not take (dropped)."""

    def push(self, packet: RtpPacket) -> list[AccessUnit]:
        done: list[AccessUnit] = []
        if self._next_seq is not None and packet.seq != self._next_seq:
            gap = (packet.seq - self._next_seq) & 0xFFFF
            if gap < 0x8000:  # a real gap; an older packet (reordered) is dropped
                self.lost += gap
                self._damage()
            else:
                return done
        self._next_seq = (packet.seq + 1) & 0xFFFF
        unit = self._unit
        if unit is not None and unit.timestamp != packet.timestamp:
            done += self._finish()
        if self._unit is None:
            self._unit = _Unit(packet.timestamp, damaged=self._gap)
            self._gap = False
        self._take(packet.payload)
        if packet.marker:
            done += self._finish()
        return done

    def _damage(self) -> None:
        self._fragment = None
        if self._unit is not None:
            self._unit.damaged = True
        else:
            self._gap = True

    def _take(self, payload: bytes) -> None:
        if not payload:
            return
        if self.codec == "h264":
            self._take_h264(payload)
        else:
            self._take_hevc(payload)

    def _add(self, nal: bytes) -> None:
        if nal:
            assert self._unit is not None
            self._unit.nals.append(nal)

    def _take_h264(self, payload: bytes) -> None:
        kind = payload[0] & 0x1F
        if 1 <= kind <= 23:
            self._add(payload)
        elif kind == 24:  # STAP-A: 16-bit size before each NAL unit
            self._aggregate(payload, 1)
        elif kind == 28:  # FU-A
            if len(payload) < 2:
                return self._damage()
            header = payload[1]
            first = bytes([(payload[0] & 0xE0) | (header & 0x1F)])
            self._fragmented(header & 0x80, header & 0x40, first, payload[2:])
        else:  # STAP-B, MTAP, FU-B: interleaved mode, which cameras do not use
            self.unknown += 1
            self._damage()

    def _take_hevc(self, payload: bytes) -> None:
        if len(payload) < 3:
            return self._damage()
        kind = hevc_type(payload)
        if kind < 48:
            self._add(payload)
        elif kind == 48:  # aggregation packet
            self._aggregate(payload, 2)
        elif kind == 49:  # fragmentation unit
            header = payload[2]
            first = bytes([(payload[0] & 0x81) | ((header & 0x3F) << 1), payload[1]])
            self._fragmented(header & 0x80, header & 0x40, first, payload[3:])
        else:  # PACI and reserved types
            self.unknown += 1
            self._damage()

    def _aggregate(self, payload: bytes, header: int) -> None:
        pos = header
        while pos + 2 <= len(payload):
            size = struct.unpack_from("!H", payload, pos)[0]
            pos += 2
            if size == 0 or pos + size > len(payload):
                return self._damage()
            self._add(payload[pos : pos + size])
            pos += size

    def _fragmented(self, start: int, end: int, first: bytes, body: bytes) -> None:
        if start:
            if self._fragment is not None:  # the end of the previous one never came
                self._damage()
            self._fragment = bytearray(first)
        elif self._fragment is None:  # a middle piece whose start was lost
            return self._damage()
        self._fragment += body
        if end:
            self._add(bytes(self._fragment))
            self._fragment = None

    def _finish(self) -> list[AccessUnit]:
        unit, self._unit = self._unit, None
        if self._fragment is not None:  # a fragment left open at the end of a picture
            self._fragment = None
            if unit is not None:
                unit.damaged = True
        if unit is None or not unit.nals:
            return []
        data = annexb(unit.nals)
        if self.codec == "h264":
            keyframe = any(n[0] & 0x1F == H264_IDR for n in unit.nals)
        else:
            keyframe = any(16 <= (n[0] >> 1) & 0x3F <= 23 for n in unit.nals)  # IRAP
        if unit.damaged:
            self._broken = True
        elif keyframe:
            self._broken = False
        return [AccessUnit(data, unit.timestamp, keyframe, not self._broken)]


# -- RTCP sender reports and the stream's clock -----------------------------------------------


@dataclass(frozen=True, slots=True)
class SenderReport:
    ssrc: int
    wall: float
    """The camera's wall clock (Unix seconds) when it sent the report."""
    timestamp: int
    """The RTP timestamp that corresponds to ``wall``."""


def sender_reports(data: bytes) -> list[SenderReport]:
    """The sender reports in a (compound) RTCP packet; other RTCP types are skipped."""
    reports: list[SenderReport] = []
    pos = 0
    while pos + 4 <= len(data):
        b0, kind, words = struct.unpack_from("!BBH", data, pos)
        size = 4 * (words + 1)
        if b0 >> 6 != 2 or pos + size > len(data):
            raise RtpError("malformed RTCP packet")
        if kind == 200 and size >= 28:
            ssrc, msw, lsw, timestamp = struct.unpack_from("!IIII", data, pos + 4)
            wall = msw - NTP_UNIX_OFFSET + lsw / 2**32
            reports.append(SenderReport(ssrc, wall, timestamp))
        pos += size
    return reports


class RtpClock:
    """Maps a stream's RTP timestamps to the camera's wall clock, from the latest RTCP
    sender report (``None`` until one came)."""

    def __init__(self, rate: int) -> None:
        if rate <= 0:
            raise RtpError(f"RTP clock rate must be positive, got {rate}")
        self.rate = rate
        self.report: SenderReport | None = None

    def update(self, report: SenderReport) -> None:
        self.report = report

    def wall(self, timestamp: int) -> float | None:
        report = self.report
        if report is None:
            return None
        delta = (timestamp - report.timestamp) & 0xFFFFFFFF
        if delta >= 0x80000000:  # timestamps wrap at 32 bits; before the report
            delta -= 0x100000000
        return report.wall + delta / self.rate
