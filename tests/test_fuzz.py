"""Hostile input: generated messages against the decoder and a live hub, size and
dimension bombs, a 100,000-message barrage and a flooding peer. The hub must answer
every message, count the bad ones, and keep serving good senders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from zmq.utils.monitor import recv_monitor_message

import camhub
from camhub import protocol
from camhub.jpeg import MAX_JPEG_PIXELS, JpegError, decode_jpeg, encode_jpeg
from camhub.protocol import Limits, ProtocolError
from camhub.transport import context
from camhub.video.packet import coded_size
from tests.conftest import wait_until
from tests.video.media import h264_stream

TINY = encode_jpeg(np.full((16, 16, 3), 128, np.uint8))
_, _H264 = h264_stream(3, width=64, height=48, gop=3)
KEY, P_FRAME = _H264[0].data, _H264[1].data


def with_size(jpeg: bytes, width: int, height: int) -> bytes:
    """The same JPEG with its SOF header claiming another size (a decompression bomb)."""
    data = bytearray(jpeg)
    for marker in (b"\xff\xc0", b"\xff\xc1", b"\xff\xc2"):
        at = data.find(marker)
        if at > 0:
            data[at + 5 : at + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
            return bytes(data)
    raise AssertionError("no SOF marker")


def hdr(**fields: object) -> bytes:
    return json.dumps(fields).encode()


# -- decode bounds --------------------------------------------------------------------


def test_jpeg_declaring_huge_dimensions_is_refused_before_decoding() -> None:
    side = int(MAX_JPEG_PIXELS**0.5) + 1
    bomb = with_size(TINY, side, side)
    tracemalloc.start()
    try:
        with pytest.raises(JpegError, match="over the limit"):
            decode_jpeg(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000  # decoding would need side*side*3 = ~200 MB

    # The wire decoder never takes it for a JPEG: it is carried as an opaque payload
    # (as imagezmq would carry it), which nothing decodes and the dashboard never serves.
    for big, limits in [
        (bomb, protocol.DEFAULT_LIMITS),
        (with_size(TINY, 60000, 60000), protocol.DEFAULT_LIMITS),
        (with_size(TINY, 320, 240), Limits(max_pixels=320 * 239)),
    ]:
        frame = protocol.decode([hdr(msg="cam"), big], limits)
        assert frame.jpeg is None and frame.payload == big and frame.encoding == "other"
        with pytest.raises(JpegError, match="not a JPEG"):
            _ = frame.image


def test_header_cannot_lie_about_the_jpeg_size() -> None:
    bomb = with_size(TINY, 8000, 8000)
    with pytest.raises(ProtocolError, match="header says 16x16 but the JPEG is 8000x8000"):
        protocol.decode([hdr(msg="cam", width=16, height=16), bomb])
    frame = protocol.decode([hdr(msg="cam", width=16, height=16), TINY])
    assert (frame.width, frame.height) == (16, 16)


@pytest.mark.parametrize(
    ("header", "match"),
    [
        (b"[" * 15000, "nested too deeply"),
        (hdr(msg="cam\n12:00:00 INFO camhub.hub: camera admin connected"), "control"),
        (b'{"msg": "cam\\ud800"}', "invalid characters"),
        (b'{"msg": "cam", "ts": NaN}', "finite"),
        (b'{"msg": "cam", "seq": ' + b"9" * 5000 + b"}", "not valid JSON"),
    ],
)
def test_decoder_regressions(header: bytes, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        protocol.decode([header, TINY])


# -- generated messages -------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
)
_fields = st.fixed_dictionaries(
    {},
    optional={
        "msg": st.text(max_size=300) | _json,
        "dtype": st.sampled_from(["uint8", "float64", "bool", "object", "<U3", "V8"]) | _json,
        "shape": st.lists(st.integers(-2, 20000), max_size=5) | _json,
        "seq": st.integers(-5, 2**64) | _json,
        "ts": st.floats(allow_nan=True, allow_infinity=True) | _json,
        "width": st.integers(-1, 70000) | _json,
        "height": st.integers(-1, 70000) | _json,
        "enc": st.sampled_from(["h264", "hevc", "vp8", "vp9", "jpeg"]) | _json,
        "key": st.sampled_from([0, 1]) | _json,
        "pts": st.integers(-(2**64), 2**64) | _json,
        "dts": st.integers(-(2**64), 2**64) | _json,
        "video": st.lists(st.sampled_from(["h264", "vp9", "av1"]), max_size=3) | _json,
    },
)
_headers = st.one_of(
    _fields.map(lambda d: json.dumps(d).encode()),
    st.binary(max_size=64),
    st.text(max_size=40).map(str.encode),
)
_jpegs = st.one_of(
    st.just(TINY),
    st.integers(0, len(TINY)).map(lambda n: TINY[:n]),
    st.tuples(st.integers(0, len(TINY) - 1), st.integers(0, 255)).map(
        lambda p: TINY[: p[0]] + bytes([p[1]]) + TINY[p[0] + 1 :]
    ),
    st.tuples(st.integers(1, 65535), st.integers(1, 65535)).map(lambda s: with_size(TINY, *s)),
)
_video = st.one_of(
    st.sampled_from([KEY, P_FRAME]),
    st.integers(0, len(KEY)).map(lambda n: KEY[:n]),
    st.tuples(st.integers(0, len(KEY) - 1), st.integers(0, 255)).map(
        lambda p: KEY[: p[0]] + bytes([p[1]]) + KEY[p[0] + 1 :]
    ),
)
_payloads = st.one_of(st.binary(max_size=300), _jpegs, _video)
MESSAGES = st.one_of(
    st.tuples(_headers, _payloads).map(list),
    st.lists(st.one_of(st.binary(max_size=40), _headers, _payloads), max_size=5),
)


def _expect(parts: list[bytes], *, request: bool = False) -> protocol.Frame | None:
    """What the decoder makes of a message: a frame, or None for a ProtocolError.
    ``request``: as a request/reply hub reads it (which also checks a video offer)."""
    try:
        return protocol.decode_request(parts)[0] if request else protocol.decode(parts)
    except ProtocolError:
        return None


@settings(max_examples=1500, deadline=None, database=None)
@given(MESSAGES)
def test_decoder_raises_nothing_but_protocol_error(parts: list[bytes]) -> None:
    frame = _expect(parts)
    if frame is None:
        return
    limits = protocol.DEFAULT_LIMITS
    assert isinstance(frame.name, str) and 0 < len(frame.name) <= limits.max_name
    if frame.array is not None:  # a view on the payload, exactly as long
        assert frame.array.nbytes == len(parts[1])
        return
    if frame.video is not None:  # sized as its header says, and a keyframe as it says
        assert frame.video.data == parts[1] and frame.width is not None
        assert frame.height is not None and frame.width * frame.height <= limits.max_pixels
        if frame.video.keyframe:
            assert coded_size(frame.video.codec, parts[1]) == (frame.width, frame.height)
        return
    if frame.jpeg is None:
        assert frame.payload == parts[1] and frame.width is None
        return
    assert frame.width is not None and frame.height is not None
    assert 1 <= frame.width <= limits.max_dim and 1 <= frame.height <= limits.max_dim
    if frame.width * frame.height <= 4096 * 4096:
        try:  # a corrupt JPEG may still fail to decode, but only with JpegError
            assert frame.image.shape[:2] == (frame.height, frame.width)
        except JpegError:
            pass


@pytest.fixture
def raw_dealer() -> Iterator[zmq.Socket[bytes]]:
    sock = context().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, 5000)
    sock.setsockopt(zmq.SNDTIMEO, 5000)
    yield sock
    sock.close()


@pytest.mark.timeout(120)
def test_live_hub_answers_generated_messages_and_keeps_serving(
    raw_dealer: zmq.Socket[bytes], jpeg: bytes
) -> None:
    expected_bad = 0
    sent = 0
    with camhub.Hub("tcp://127.0.0.1:0") as hub:
        raw_dealer.connect(hub.endpoint)

        @settings(
            max_examples=400,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(MESSAGES)
        def send_one(parts: list[bytes]) -> None:
            nonlocal expected_bad, sent
            ok = _expect(parts, request=True) is not None
            raw_dealer.send_multipart([b"", *parts])  # REQ-style delimiter, as senders do
            reply = raw_dealer.recv_multipart()  # zmq.Again here would mean a wedged hub
            sent += 1
            expected_bad += not ok
            assert (reply[-1] == b"OK") if ok else reply[-1].startswith(b"ERR ")

        send_one()
        assert hub.messages == sent and hub.malformed == expected_bad
        with camhub.Sender(hub.endpoint) as good:
            for _ in range(5):
                good.send_jpeg("good", jpeg)
            assert good.flush() and good.stats.acked == 5
        latest = hub.latest("good")
        assert latest is not None and latest.jpeg == jpeg


# -- volume ---------------------------------------------------------------------------------

HOSTILE: list[list[bytes]] = [
    [b"", b"not json", TINY],
    [b"", b"[1, 2, 3]", TINY],
    [b"", b'"a string"', TINY],
    [b"", b"[" * 5000, TINY],
    [b"", b" " * 20000, TINY],
    [b"", hdr(dtype="uint8"), TINY],
    [b"", hdr(msg=42), TINY],
    [b"", hdr(msg=""), TINY],
    [b"", hdr(msg="x" * 300), TINY],
    [b"", hdr(msg="a\rb"), TINY],
    [b"", b'{"msg": "\\udfff"}', TINY],
    [b"", hdr(msg="c", seq=-1), TINY],
    [b"", hdr(msg="c", seq=1.5), TINY],
    [b"", b'{"msg": "c", "ts": Infinity}', TINY],
    [b"", hdr(msg="c", dtype="object", shape=[1]), b"x"],
    [b"", hdr(msg="c", dtype="uint8", shape=[480, 640, 3]), b"short"],
    [b"", hdr(msg="c", dtype="uint8", shape=[1] * 65), b"x"],
    [b"", hdr(msg="c", dtype="a4", shape=[1]), b"abcd"],
    [b"", hdr(msg="c", dtype="uint8", shape=[True, 1]), b"x"],
    [b"", hdr(msg="c", width=16, height=16), b"GIF89a not a jpeg"],
    [b"", hdr(msg="c", width=16, height=16), with_size(TINY, 4000, 4000)],
    [b"", hdr(msg="c", width=0, height=16), TINY],
    [b"", hdr(msg="c", enc="h264", key=1, width=64, height=48), P_FRAME],
    [b"", hdr(msg="c", enc="h264", key=1, width=640, height=480), KEY],
    [b"", hdr(msg="c", enc="h264", key=1, width=64, height=48), KEY[: len(KEY) // 8]],
    [b"", hdr(msg="c", enc="h264", key=1, width=64, height=48), b""],
    [b"", hdr(msg="c", enc="h264", key=0, height=48), P_FRAME],
    [b"", hdr(msg="c", enc="h264", key="1", width=64, height=48), KEY],
    [b"", hdr(msg="c", enc="hevc", key=1, width=64, height=48), KEY],
    [b"", hdr(msg="c", enc="vp9", key=1, width=64, height=48), TINY],
    [b"", hdr(msg="c", enc="h264", key=0, width=64, height=48, pts=2**70), P_FRAME],
    [b"", hdr(msg="c", video="h264"), TINY],
    [b"", hdr(msg="c")],
    [b"", hdr(msg="c"), TINY, TINY],
    [b""],
    [b"", b"", b"", b""],
]


CARRIED_OPAQUE: list[list[bytes]] = [
    [hdr(msg="c"), b""],
    [hdr(msg="c"), b"GIF89a not a jpeg"],
    [hdr(msg="c"), TINY[:20]],
    [hdr(msg="c"), with_size(TINY, 60000, 60000)],
    [hdr(msg="c"), with_size(TINY, 9000, 9000)],
]


def test_payloads_imagezmq_carries_are_kept_opaque_not_refused() -> None:
    """These were refused before issue 8; imagezmq carries them, so camhub does too, but
    never as a JPEG: nothing decodes them and the dashboard does not serve them."""
    for parts in CARRIED_OPAQUE:
        frame = protocol.decode(parts)
        assert frame.encoding == "other" and frame.payload == parts[1]


def test_hostile_catalogue_is_all_malformed() -> None:
    """Guards the barrage below: every message in it must really be invalid."""
    for parts in HOSTILE:
        with pytest.raises(ProtocolError):
            protocol.decode_request(parts[1:])


@pytest.mark.timeout(90)
def test_hub_survives_100k_hostile_messages_then_serves_a_good_sender(
    raw_dealer: zmq.Socket[bytes], jpeg: bytes
) -> None:
    total = 100_000
    with camhub.Hub("tcp://127.0.0.1:0") as hub:
        raw_dealer.setsockopt(zmq.SNDHWM, 1000)
        raw_dealer.setsockopt(zmq.RCVHWM, 10)  # never read: the hub's replies get dropped
        raw_dealer.connect(hub.endpoint)
        n = len(HOSTILE)
        for i in range(total):
            raw_dealer.send_multipart(HOSTILE[i % n])  # blocks (up to SNDTIMEO) when full
        wait_until(lambda: hub.messages >= total, timeout=60)
        assert hub.messages == hub.malformed == total
        assert hub.camera_names() == []

        with camhub.Sender(hub.endpoint) as good:
            for _ in range(5):
                good.send_jpeg("good", jpeg)
            assert good.flush() and good.stats.acked == 5
        assert hub.camera_names() == ["good"]
        peers = hub.peer_stats()
        assert sum(p.malformed for p in peers) == total


def test_oversized_message_is_cut_off_by_zeromq(raw_dealer: zmq.Socket[bytes], jpeg: bytes) -> None:
    limits = Limits(max_payload=100_000, max_header=2048)
    with camhub.Hub("tcp://127.0.0.1:0", limits=limits) as hub:
        monitor = raw_dealer.get_monitor_socket(
            zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED
        )
        try:
            raw_dealer.connect(hub.endpoint)
            raw_dealer.send_multipart([b"", hdr(msg="big"), b"\xff\xd8" + os.urandom(300_000)])
            seen = []
            while zmq.EVENT_DISCONNECTED not in seen:
                assert monitor.poll(5000), "the hub never dropped the oversized sender"
                seen.append(recv_monitor_message(monitor)["event"])
        finally:
            raw_dealer.disable_monitor()
            monitor.close()
        assert hub.messages == 0  # ZeroMQ refused it before the hub saw a byte of it
        with camhub.Sender(hub.endpoint) as good:
            good.send_jpeg("good", jpeg[:90_000])  # within the limit: accepted (if truncated)
            assert good.flush()
        assert hub.messages == 1


# -- a flooding peer -------------------------------------------------------------------------


def _flood(port: int, message: list[bytes], stop: threading.Event) -> None:
    sock = context().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SNDTIMEO, 100)
    sock.setsockopt(zmq.RCVHWM, 10)
    # From another loopback address, so the hub's per-peer counts tell the two apart.
    sock.connect(f"tcp://127.0.0.2:0;127.0.0.1:{port}")
    try:
        while not stop.is_set():
            try:
                sock.send_multipart(message)
            except zmq.Again:
                pass
    finally:
        sock.close()


GOOD_FRAMES = 300


@pytest.mark.parametrize("kind", ["garbage", "valid"])
@pytest.mark.timeout(60)
def test_flooding_peer_does_not_starve_a_good_sender(kind: str, jpeg: bytes) -> None:
    flood_msg = (
        [b"", b"garbage", b"x" * 100]
        if kind == "garbage"
        else [b"", *protocol.encode_jpeg("flood", TINY, width=16, height=16)]
    )
    with camhub.Hub("tcp://127.0.0.1:0") as hub:
        port = int(hub.endpoint.rsplit(":", 1)[1])

        def flooded() -> int:
            return sum(p.messages for p in hub.peer_stats() if p.peer == "127.0.0.2")

        stop = threading.Event()
        flooder = threading.Thread(target=_flood, args=(port, flood_msg, stop), daemon=True)
        flooder.start()
        try:
            wait_until(lambda: flooded() > 2000, timeout=20)
            before = flooded()
            start = time.monotonic()
            with camhub.Sender(hub.endpoint, timeout=2.0) as good:
                for _ in range(GOOD_FRAMES):
                    good.send_jpeg("good", jpeg)
                good.flush()
            elapsed = time.monotonic() - start
            during = flooded() - before
        finally:
            stop.set()
            flooder.join(timeout=5)
        assert good.stats.acked == GOOD_FRAMES and good.stats.dropped == 0
        assert during >= 100  # the flood really ran alongside
        peers = {p.peer: p for p in hub.peer_stats()}
        assert peers["127.0.0.1"].messages == GOOD_FRAMES and peers["127.0.0.1"].malformed == 0
        flood_peer = peers["127.0.0.2"]
        assert flood_peer.malformed == (flood_peer.messages if kind == "garbage" else 0)
        print(
            f"\n{kind} flood: good sender {GOOD_FRAMES} frames in {elapsed:.2f} s "
            f"({GOOD_FRAMES / elapsed:.0f} fps) while the flooder got {during / elapsed:.0f} "
            "msg/s in"
        )


# -- atheris (optional) ------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_atheris_on_the_decoder(tmp_path: Path) -> None:
    pytest.importorskip("atheris")
    harness = Path(__file__).parent / "atheris_decoder.py"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    result = subprocess.run(
        [
            sys.executable,
            str(harness),
            "-runs=30000",
            "-max_len=4096",
            "-seed=1",
            f"-artifact_prefix={tmp_path}/",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=110,
    )
    assert result.returncode == 0, result.stderr[result.stderr.find("=== Uncaught") :][:3000]
    assert "Done 30000 runs" in result.stderr
