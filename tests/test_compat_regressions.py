"""One message each: the ways a real imagezmq 1.2.0 sender once broke the compat ImageHub.

Every test sends from imagezmq's own ``ImageSender`` (a REQ socket, lock-step) to
camhub's ``ImageHub`` and checks both what the hub's caller gets and the reply that
reaches the sender. Issue 8, items 1-4.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import imagezmq
import numpy as np
import pytest
import zmq

import camhub

pytestmark = pytest.mark.timeout(60)

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(64))


def close_imagezmq(peer: imagezmq.ImageSender | imagezmq.ImageHub) -> None:
    """imagezmq's own close() lingers forever on unsent messages; this does not."""
    peer.zmq_socket.close(linger=0)
    peer.zmq_context.term()


class Pair:
    """A camhub ImageHub and a real imagezmq ImageSender connected to it."""

    def __init__(self) -> None:
        self.hub = camhub.ImageHub("tcp://127.0.0.1:0")
        self.sender = imagezmq.ImageSender(connect_to=self.hub.endpoint)
        # imagezmq waits for a reply forever; a test must not.
        self.sender.zmq_socket.setsockopt(zmq.RCVTIMEO, 10_000)
        self.sender.zmq_socket.setsockopt(zmq.LINGER, 0)

    def send(self, call: Callable[[Any], object]) -> list[object]:
        """Run one imagezmq send in a thread; the returned list gets its reply."""
        replies: list[object] = []

        def run() -> None:
            try:
                replies.append(call(self.sender))
            except zmq.Again:
                replies.append("no reply")

        self.thread = threading.Thread(target=run)
        self.thread.start()
        return replies

    def wait(self) -> None:
        self.thread.join(15)

    def close(self) -> None:
        close_imagezmq(self.sender)
        self.hub.close()


@pytest.fixture
def pair() -> Iterator[Pair]:
    p = Pair()
    yield p
    p.close()


# -- item 1: arrays of any number of dimensions -------------------------------------------


@pytest.mark.parametrize(
    "array",
    [
        np.arange(10, dtype=np.uint8),  # the 1-D array that raised IndexError
        np.array(7, dtype=np.uint8),  # 0-D
        np.zeros((0,), np.uint8),  # empty
        np.zeros((3, 0, 2), np.uint8),  # empty, 3-D
        np.arange(2 * 3 * 1 * 2 * 2, dtype=np.uint8).reshape(2, 3, 1, 2, 2),  # 5-D
    ],
    ids=["1-D", "0-D", "empty", "empty-3-D", "5-D"],
)
def test_array_of_any_dimensions_comes_back_unchanged(pair: Pair, array: np.ndarray) -> None:
    replies = pair.send(lambda s: s.send_image("x", array))
    name, got = pair.hub.recv_image(timeout=10)
    pair.hub.send_reply(b"thanks")
    pair.wait()
    assert name == "x" and got.dtype == array.dtype and got.shape == array.shape
    assert got.tobytes() == array.tobytes()
    assert replies == [b"thanks"]


def test_64_mib_1d_array_comes_back_unchanged(pair: Pair) -> None:
    array = np.arange(64 * 1024 * 1024, dtype=np.uint8)  # wraps 0..255, every byte known
    replies = pair.send(lambda s: s.send_image("big", array))
    name, got = pair.hub.recv_image(timeout=30)
    pair.hub.send_reply()
    pair.wait()
    assert name == "big" and got.shape == array.shape and np.array_equal(got, array)
    assert replies == [b"OK"]


def test_frame_of_a_1d_array_has_no_width_or_height() -> None:
    frame = camhub.Frame("x", array=np.arange(10, dtype=np.uint8))
    assert (frame.width, frame.height, frame.encoding, frame.nbytes) == (None, None, "raw", 10)
    frame = camhub.Frame("x", array=np.array(1.5))
    assert frame.width is None and frame.nbytes == 8


# -- item 2: send_jpg carries any bytes -----------------------------------------------------


@pytest.mark.parametrize(
    "payload", [PNG, b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"", b"\xff\xd8 cut"], ids=str
)
def test_send_jpg_payload_that_is_not_a_jpeg_comes_back_as_bytes(
    pair: Pair, payload: bytes
) -> None:
    replies = pair.send(lambda s: s.send_jpg("png", payload))
    name, got = pair.hub.recv_jpg(timeout=10)
    pair.hub.send_reply(b"mine")
    pair.wait()
    assert (name, bytes(got)) == ("png", payload)
    assert replies == [b"mine"]  # the sender's own reply, not an ERR


def test_native_hub_keeps_a_png_as_an_opaque_frame_and_counts_it(jpeg: bytes) -> None:
    with camhub.Hub("tcp://127.0.0.1:0") as hub:
        sender = imagezmq.ImageSender(connect_to=hub.endpoint)
        sender.zmq_socket.setsockopt(zmq.RCVTIMEO, 10_000)
        try:
            assert sender.send_jpg("cam", PNG) == b"OK"
            assert sender.send_jpg("cam", PNG) == b"OK"
        finally:
            close_imagezmq(sender)
        frame = hub.latest("cam")
        assert frame is not None and frame.payload == PNG and frame.jpeg is None
        assert frame.encoding == "other" and frame.nbytes == len(PNG)
        with pytest.raises(camhub.JpegError, match="not a JPEG"):
            _ = frame.image
        (stats,) = hub.stats()
        assert (stats.frames, stats.unsupported, stats.encoding) == (2, 2, "other")
        assert hub.malformed == 0


# -- item 3: every dtype imagezmq carries ---------------------------------------------------


@pytest.mark.parametrize(
    "dtype",
    [
        "int64",  # np.arange's default: was refused
        "uint64",
        "int8",
        "float16",
        "float64",
        "complex128",
        "bool",
        ">i4",  # big-endian
        "<U3",
        "|S2",
        "|V3",
    ],
)
def test_every_dtype_imagezmq_carries_comes_back_unchanged(pair: Pair, dtype: str) -> None:
    array = np.frombuffer(bytes(range(2 * 3 * np.dtype(dtype).itemsize)), dtype).reshape(2, 3)
    if array.dtype == np.bool_:
        array = np.array([[True, False, True], [False, False, True]])
    replies = pair.send(lambda s: s.send_image("d", array))
    name, got = pair.hub.recv_image(timeout=10)
    assert name == "d"
    pair.hub.send_reply()
    pair.wait()
    assert str(got.dtype) == str(array.dtype) and got.shape == (2, 3)
    assert got.tobytes() == array.tobytes()
    assert replies == [b"OK"]


def test_np_arange_as_a_new_user_sends_it(pair: Pair) -> None:
    pair.send(lambda s: s.send_image("x", np.arange(10)))
    _, got = pair.hub.recv_image(timeout=10)
    pair.hub.send_reply()
    pair.wait()
    assert got.dtype == np.int64 and np.array_equal(got, np.arange(10))


# -- item 4: nothing a peer sends ends the caller's loop ------------------------------------


@pytest.mark.parametrize(
    "array",
    [np.arange(12, dtype=np.uint16).reshape(3, 4), np.linspace(0, 1, 6).reshape(2, 3)],
    ids=["uint16", "float64"],
)
def test_recv_jpg_of_a_raw_frame_returns_its_bytes(pair: Pair, array: np.ndarray) -> None:
    replies = pair.send(lambda s: s.send_image("raw", array))
    name, got = pair.hub.recv_jpg(timeout=10)  # raised ValueError: JPEG needs a uint8 image
    pair.hub.send_reply()
    pair.wait()
    assert name == "raw" and bytes(got) == array.tobytes()
    assert replies == [b"OK"]


def _flipped(jpeg: bytes) -> bytes:
    data = bytearray(jpeg)
    for i in range(1000, len(data), 997):
        data[i] ^= 0xFF
    return bytes(data)


@pytest.mark.parametrize(
    "make_bad",
    [lambda j: j[: len(j) // 2], _flipped, lambda j: PNG],
    ids=["cut-short", "bit-flipped", "png"],
)
def test_recv_image_of_an_undecodable_payload_answers_err_and_skips_it(
    pair: Pair, jpeg: bytes, make_bad: Callable[[bytes], bytes]
) -> None:
    bad = make_bad(jpeg)
    replies = pair.send(lambda s: s.send_jpg("bad", bad))
    with pytest.raises(TimeoutError):  # the bad frame is answered, never returned
        pair.hub.recv_image(timeout=1.0)
    pair.wait()
    assert len(replies) == 1 and isinstance(replies[0], bytes)
    assert replies[0].startswith(b"ERR ")
    assert pair.hub.malformed == 1
    # ... and the loop goes on with the next message.
    replies = pair.send(lambda s: s.send_jpg("good", jpeg))
    name, image = pair.hub.recv_image(timeout=10)
    pair.hub.send_reply()
    pair.wait()
    assert name == "good" and image.shape == (480, 640, 3) and replies == [b"OK"]


def test_jpeg_error_is_a_camhub_error() -> None:
    with pytest.raises(camhub.CamhubError):
        camhub.encode_jpeg(np.zeros((4, 4), np.uint16))
    with pytest.raises(camhub.CamhubError):
        camhub.decode_jpeg(PNG)
