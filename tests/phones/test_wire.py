"""The browser camera's frame message: only JPEGs within the hub's limits get through,
whatever the ZeroMQ path keeps for imagezmq peers."""

from __future__ import annotations

import json
import struct
import time

import pytest

from camhub.phones.wire import decode_frame, encode_chunk, encode_frame
from camhub.protocol import Limits, ProtocolError
from camhub.video.packet import VideoPacket
from tests.web.conftest import jpegs


def test_good_frame_keeps_stamps_and_takes_the_device_name() -> None:
    jpeg = jpegs(1, size=(160, 120))[0]
    frame = decode_frame(encode_frame(jpeg, 7, 1234.5), "kitchen")
    assert (frame.name, frame.seq, frame.captured_at) == ("kitchen", 7, 1234.5)
    assert frame.jpeg == jpeg and (frame.width, frame.height) == (160, 120)


def bomb() -> bytes:
    data = bytearray(jpegs(1)[0])
    struct.pack_into(">HH", data, data.index(b"\xff\xc0") + 5, 60000, 60000)
    return bytes(data)


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "not a JPEG"),
        (bomb(), "over the limits"),
        (jpegs(1)[0] + bytes(3000), "over the limit of 2000"),
    ],
)
def test_anything_but_a_jpeg_within_limits_is_refused(payload: bytes, words: str) -> None:
    limits = Limits(max_payload=2000) if words.endswith("2000") else Limits()
    with pytest.raises(ProtocolError, match=words):
        decode_frame(encode_frame(payload, 0, time.time()), "cam", limits)


@pytest.mark.parametrize(
    "message",
    [b"", b"\x00", b"\x00\x05{}", b"\x00\x02[]" + jpegs(1)[0], b'\x00\x0b{"seq":-1}' + jpegs(1)[0]],
)
def test_bad_headers_are_refused(message: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_frame(message, "cam")


# -- video chunks (WebCodecs on the page) ---------------------------------------------------


@pytest.fixture(scope="module")
def h264() -> list[VideoPacket]:
    from tests.video.coded import encode, scene

    return encode("h264", scene(4), gop=4)


def test_h264_chunk_becomes_a_video_frame_with_the_device_name(h264: list[VideoPacket]) -> None:
    key, delta = h264[0], h264[1]
    assert key.keyframe and not delta.keyframe
    frame = decode_frame(encode_chunk(key, 3, 1234.5, 320, 240), "kitchen")
    assert (frame.name, frame.seq, frame.captured_at) == ("kitchen", 3, 1234.5)
    assert frame.video is not None and frame.video.data == key.data and frame.video.keyframe
    assert frame.video.pts == key.pts and (frame.width, frame.height) == (320, 240)
    assert frame.encoding == "h264"
    later = decode_frame(encode_chunk(delta, 4, 1234.6, 320, 240), "kitchen")
    assert later.video is not None and not later.video.keyframe


def test_chunk_fields_a_client_may_not_set_are_ignored(h264: list[VideoPacket]) -> None:
    message = _raw(
        {"seq": 1, "enc": "h264", "key": 1, "width": 320, "height": 240, "msg": "other-cam"},
        h264[0].data,
    )
    assert decode_frame(message, "kitchen").name == "kitchen"


def _raw(head: dict[str, object], payload: bytes) -> bytes:
    data = json.dumps(head).encode()
    return len(data).to_bytes(2, "big") + data + payload


@pytest.mark.parametrize(
    ("head", "payload", "words"),
    [
        ({"enc": "av1", "key": 1, "width": 320, "height": 240}, b"\x12\x00", "av1.*not one"),
        ({"enc": ["h264"], "key": 1}, b"x", "not one this hub takes"),
        ({"enc": "h264", "width": 320, "height": 240}, "key", "'key' must be 0 or 1"),
        ({"enc": "h264", "key": 1}, "key", "needs 'width' and 'height'"),
        ({"enc": "h264", "key": 1, "width": 640, "height": 480}, "key", "keyframe is 320x240"),
        ({"enc": "h264", "key": 1, "width": 320, "height": 240}, "delta", "not one"),
        ({"enc": "h264", "key": 1, "width": 320, "height": 240}, b"", "empty"),
        ({"enc": "h264", "key": 1, "width": 320, "height": 240}, bytes(500), "not one"),
        ({"enc": "h264", "key": 1, "width": 320, "height": 240}, "cut", "malformed|no picture"),
        ({"enc": "vp8", "key": 1, "width": 320, "height": 240}, b"\xff" * 40, "not one"),
        ({"enc": "h264", "key": 0, "width": 99999, "height": 240}, "delta", "width"),
        ({"enc": "h264", "key": 0, "width": 320, "height": 240, "pts": "x"}, "delta", "pts"),
    ],
)
def test_malformed_chunks_are_refused_with_a_reason(
    h264: list[VideoPacket], head: dict[str, object], payload: bytes | str, words: str
) -> None:
    if payload == "key":
        payload = h264[0].data
    elif payload == "delta":
        payload = h264[1].data
    elif payload == "cut":  # the SPS cut off mid-way
        payload = h264[0].data[:9]
    assert isinstance(payload, bytes)
    with pytest.raises(ProtocolError, match=words):
        decode_frame(_raw({"seq": 0, "ts": time.time(), **head}, payload), "cam")


def test_a_hub_that_takes_no_video_refuses_chunks(h264: list[VideoPacket]) -> None:
    with pytest.raises(ProtocolError, match="'h264' is not one this hub takes \\(jpeg\\)"):
        decode_frame(encode_chunk(h264[0], 0, time.time(), 320, 240), "cam", video=())


def test_chunk_over_the_payload_limit_is_refused(h264: list[VideoPacket]) -> None:
    message = encode_chunk(h264[0], 0, time.time(), 320, 240)
    with pytest.raises(ProtocolError, match="over the limit"):
        decode_frame(message, "cam", Limits(max_payload=len(h264[0].data) - 1))
