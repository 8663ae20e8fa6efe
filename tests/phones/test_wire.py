"""The browser camera's frame message: only JPEGs within the hub's limits get through,
whatever the ZeroMQ path keeps for imagezmq peers."""

from __future__ import annotations

import struct
import time

import pytest

from camhub.phones.wire import decode_frame, encode_frame
from camhub.protocol import Limits, ProtocolError
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
