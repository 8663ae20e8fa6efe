"""RTP depacketizing and RTCP timing against real coded video (libx264 through
camhub's encoder), packetized here the way RFC 6184/7798 cameras do it. GStreamer's own
payloader is the peer in tests/sources/test_rtsp.py."""

from __future__ import annotations

import struct

import pytest

from camhub.video.encoder import H264Encoder
from camhub.video.packet import annexb, nal_units
from camhub.video.rtp import (
    NTP_UNIX_OFFSET,
    Depacketizer,
    RtpClock,
    RtpError,
    RtpPacket,
    SenderReport,
    parse_rtp,
    sender_reports,
)
from tests.video.media import Scene

MTU = 400


@pytest.fixture(scope="module")
def units() -> list[bytes]:
    """Twelve real H.264 access units (a keyframe, then P-frames; a keyframe at 8)."""
    scene, encoder = Scene(160, 120), H264Encoder()
    out = []
    for i in range(12):
        if i == 8:
            encoder.request_keyframe()
        out.append(encoder.encode(scene.frame(i), 100.0 + i / 15).data)
    return out


def rtp(payload: bytes, seq: int, ts: int, marker: bool, pt: int = 96) -> bytes:
    return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, seq & 0xFFFF, ts, 7) + payload


def h264_payloads(unit: bytes, aggregate: bool = True) -> list[bytes]:
    """RFC 6184 non-interleaved mode: small NAL units in one STAP-A, big ones in FU-As."""
    nals = nal_units(unit)
    out: list[bytes] = []
    small = [n for n in nals if len(n) < 100]
    if aggregate and len(small) > 1 and small == nals[: len(small)]:
        out.append(bytes([0x18]) + b"".join(struct.pack("!H", len(n)) + n for n in small))
        nals = nals[len(small) :]
    for nal in nals:
        if len(nal) <= MTU:
            out.append(nal)
            continue
        indicator = (nal[0] & 0xE0) | 28
        body = nal[1:]
        pieces = [body[i : i + MTU] for i in range(0, len(body), MTU)]
        for i, piece in enumerate(pieces):
            header = (0x80 if i == 0 else 0) | (0x40 if i == len(pieces) - 1 else 0) | nal[0] & 0x1F
            out.append(bytes([indicator, header]) + piece)
    return out


def packetize(units: list[bytes], marker: bool = True, aggregate: bool = True) -> list[RtpPacket]:
    packets, seq = [], 65530  # wraps past 65535 on the way
    for i, unit in enumerate(units):
        payloads = h264_payloads(unit, aggregate)
        for j, payload in enumerate(payloads):
            last = marker and j == len(payloads) - 1
            packets.append(parse_rtp(rtp(payload, seq, 3000 + 6000 * i, last)))
            seq += 1
    return packets


def test_every_access_unit_comes_out_whole_when_its_last_packet_arrives(
    units: list[bytes],
) -> None:
    depacketizer = Depacketizer("h264")
    out = []
    packets_of = iter(packetize(units))
    for unit in units:
        packets = [next(packets_of) for _ in h264_payloads(unit)]
        for packet in packets[:-1]:
            assert depacketizer.push(packet) == [], "nothing before the marker bit"
        done = depacketizer.push(packets[-1])
        assert len(done) == 1, "the marker bit ends the access unit at once"
        out.append(done[0])
        assert nal_units(done[0].data) == nal_units(unit)
    assert [u.keyframe for u in out] == [i in (0, 8) for i in range(12)]
    assert all(u.complete for u in out)


def test_fragments_and_aggregates_reassemble_byte_for_byte(units: list[bytes]) -> None:
    packets = packetize(units)
    assert any(p.payload[0] & 0x1F == 28 for p in packets), "the keyframe needs FU-A"
    assert any(p.payload[0] & 0x1F == 24 for p in packets), "SPS+PPS travel as STAP-A"
    depacketizer = Depacketizer("h264")
    out = [au for p in packets for au in depacketizer.push(p)]
    assert [au.data for au in out] == [annexb(nal_units(u)) for u in units]
    assert [au.timestamp for au in out] == [3000 + 6000 * i for i in range(12)]


def test_a_camera_that_leaves_out_the_marker_bit_still_gets_its_units(units: list[bytes]) -> None:
    depacketizer = Depacketizer("h264")
    out = [au for p in packetize(units, marker=False) for au in depacketizer.push(p)]
    # A unit ends when the next timestamp begins: all but the last, one frame late.
    assert [au.data for au in out] == [annexb(nal_units(u)) for u in units[:-1]]


def test_a_lost_packet_breaks_the_group_until_the_next_keyframe(units: list[bytes]) -> None:
    packets = packetize(units)
    per_unit = [len(h264_payloads(u)) for u in units]
    lost = sum(per_unit[:3])  # the first packet of unit 3
    depacketizer = Depacketizer("h264")
    out = [au for p in packets[:lost] + packets[lost + 1 :] for au in depacketizer.push(p)]
    assert depacketizer.lost == 1
    complete = {(au.timestamp - 3000) // 6000: au.complete for au in out}
    assert [i for i in range(12) if complete[i]] == [0, 1, 2, 8, 9, 10, 11]


def test_a_lost_fragment_inside_a_unit_marks_it_damaged(units: list[bytes]) -> None:
    packets = packetize(units[:1])
    assert len(packets) > 3
    depacketizer = Depacketizer("h264")
    out = [au for p in packets[:2] + packets[3:] for au in depacketizer.push(p)]
    assert len(out) == 1 and not out[0].complete and out[0].keyframe is not None


def test_nothing_is_complete_before_the_first_keyframe(units: list[bytes]) -> None:
    depacketizer = Depacketizer("h264")
    out = [au for p in packetize(units[1:10]) for au in depacketizer.push(p)]
    assert [au.complete for au in out] == [False] * 7 + [True, True]


def test_hevc_aggregation_and_fragmentation_units() -> None:
    vps, sps, pps = b"\x40\x01\x0c", b"\x42\x01\x01\x60", b"\x44\x01\xc1"
    idr = b"\x26\x01" + bytes(range(256)) * 4  # IDR_W_RADL
    aggregate = b"\x60\x01" + b"".join(struct.pack("!H", len(n)) + n for n in (vps, sps, pps))
    body = idr[2:]
    fu = [
        b"\x62\x01" + bytes([0x80 | 19]) + body[:500],
        b"\x62\x01" + bytes([19]) + body[500:800],
        b"\x62\x01" + bytes([0x40 | 19]) + body[800:],
    ]
    depacketizer = Depacketizer("hevc")
    payloads = [aggregate, *fu]
    out = []
    for i, payload in enumerate(payloads):
        out += depacketizer.push(parse_rtp(rtp(payload, i, 9000, i == len(payloads) - 1)))
    assert len(out) == 1 and out[0].keyframe and out[0].complete
    assert nal_units(out[0].data) == [vps, sps, pps, idr]


def test_unknown_payload_formats_are_counted_and_break_the_unit() -> None:
    depacketizer = Depacketizer("h264")
    out = depacketizer.push(parse_rtp(rtp(b"\x19\x00\x00", 1, 0, True)))  # STAP-B
    assert depacketizer.unknown == 1 and out == []


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"\x80\x60\x00", "shorter than its header"),
        (b"\x40" + b"\x00" * 11, "version 1"),
        (b"\x90\x60" + b"\x00" * 10 + b"\x00\x01", "extension is cut short"),
        (b"\x90\x60" + b"\x00" * 10 + b"\x00\x01\x00\x09", "longer than the packet"),
        (b"\xa0\x60" + b"\x00" * 10 + b"\x05", "longer than the packet"),
    ],
)
def test_malformed_rtp_is_refused_with_a_reason(data: bytes, why: str) -> None:
    with pytest.raises(RtpError, match=why):
        parse_rtp(data)


def test_rtp_padding_csrcs_and_extensions_are_skipped() -> None:
    header = struct.pack("!BBHII", 0x80 | 0x20 | 0x10 | 1, 0xE0, 5, 90, 7)
    data = header + b"CSRC" + b"\xbe\xde\x00\x01" + b"EXTN" + b"\x65payload" + b"\x00\x00\x03"
    packet = parse_rtp(data)
    assert (packet.payload, packet.marker, packet.payload_type) == (b"\x65payload", True, 96)


def _sender_report(wall: float, timestamp: int, ssrc: int = 7) -> bytes:
    ntp = wall + NTP_UNIX_OFFSET
    msw, lsw = int(ntp), int((ntp % 1) * 2**32)
    return struct.pack("!BBHIIIIII", 0x80, 200, 6, ssrc, msw, lsw, timestamp, 10, 1000)


def test_sender_reports_in_a_compound_packet_are_found() -> None:
    receiver_report = struct.pack("!BBHI", 0x80, 201, 1, 9)
    description = struct.pack("!BBHI", 0x81, 202, 1, 7)
    data = receiver_report + _sender_report(1_700_000_000.25, 1234) + description
    (report,) = sender_reports(data)
    assert report.ssrc == 7 and report.timestamp == 1234
    assert report.wall == pytest.approx(1_700_000_000.25, abs=1e-6)
    with pytest.raises(RtpError):
        sender_reports(data[:-2])


def test_the_clock_maps_timestamps_through_the_report_and_across_the_wrap() -> None:
    clock = RtpClock(90_000)
    assert clock.wall(1000) is None
    clock.update(SenderReport(7, 1_700_000_000.0, 0xFFFFFF00))
    assert clock.wall(0xFFFFFF00 + 90_000 - 2**32) == pytest.approx(1_700_000_001.0)
    assert clock.wall(0xFFFFFF00 - 45_000) == pytest.approx(1_699_999_999.5)
    with pytest.raises(RtpError):
        RtpClock(0)
