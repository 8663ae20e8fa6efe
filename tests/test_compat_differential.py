"""Differential test: camhub's drop-in against the real imagezmq 1.2.0, message by message.

Each generated message goes three ways over real sockets:

* reference: a real ``imagezmq.ImageSender`` -> a real ``imagezmq.ImageHub``;
* drop-in hub: the same kind of imagezmq sender -> ``camhub.ImageHub``;
* drop-in sender: ``camhub.ImageSender`` -> a real ``imagezmq.ImageHub``.

Where imagezmq's hub returns a value, camhub must return the same name, dtype, shape and
bytes, and the caller's reply must reach the sender. Where imagezmq raises, camhub may do
better (``recv_image`` decodes a JPEG) or answer ``ERR <reason>``, count and skip the
message; it never raises. The sockets live for the whole module, so thousands of cases
take seconds. The deliberate refusals listed in docs/protocol.md are tested at the end.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import cv2
import imagezmq
import numpy as np
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as npst

import camhub
from camhub.protocol import Limits
from tests.conftest import make_image

pytestmark = pytest.mark.timeout(300)

CASES = int(os.environ.get("CAMHUB_DIFF_CASES", "2000"))
"""Generated messages per run; each is sent three ways (6,000 exchanges)."""

Summary = tuple[str, str, tuple[int, ...], bytes]


@dataclass
class Outcome:
    value: Summary | None
    """(name, dtype, shape, bytes) the hub's caller got, or None if nothing came back."""
    error: str | None
    """What the hub raised (imagezmq), or None."""
    reply: object
    """What the sender got back."""


def _summary(method: str, got: tuple[str, Any]) -> Summary:
    name, data = got
    if method == "recv_jpg":
        return name, "bytes", (), bytes(data)
    return name, str(data.dtype), tuple(data.shape), data.tobytes()


class Rig:
    """Three sender/hub pairs on loopback, each sender driven from its own thread."""

    def __init__(self) -> None:
        self.iz_hub = imagezmq.ImageHub("tcp://127.0.0.1:*")
        self.iz_hub2 = imagezmq.ImageHub("tcp://127.0.0.1:*")
        self.ch_hub = camhub.ImageHub("tcp://127.0.0.1:0")
        # Short receive slices: a refused message is noticed within milliseconds.
        self.ch_hub.zmq_socket.setsockopt(zmq.RCVTIMEO, 2)
        for hub in (self.iz_hub, self.iz_hub2):
            hub.zmq_socket.setsockopt(zmq.RCVTIMEO, 20_000)  # imagezmq would wait forever
        self.iz_ref = imagezmq.ImageSender(_endpoint(self.iz_hub))
        self.iz_to_ch = imagezmq.ImageSender(self.ch_hub.endpoint)
        self.ch_to_iz = camhub.ImageSender(_endpoint(self.iz_hub2), timeout=20)
        for sender in (self.iz_ref, self.iz_to_ch):
            sender.zmq_socket.setsockopt(zmq.RCVTIMEO, 20_000)
        self.pools = [ThreadPoolExecutor(1) for _ in range(3)]
        self.count = 0

    def close(self) -> None:
        for pool in self.pools:
            pool.shutdown()
        self.ch_to_iz.close()
        self.ch_hub.close()
        for peer in (self.iz_ref, self.iz_to_ch, self.iz_hub, self.iz_hub2):
            peer.zmq_socket.close(linger=0)
            peer.zmq_context.term()

    def via_imagezmq_hub(
        self, hub: imagezmq.ImageHub, send: Future[object], method: str, reply: bytes
    ) -> Outcome:
        try:
            value, error = _summary(method, getattr(hub, method)()), None
        except zmq.Again:
            why = send.exception() if send.done() else "no error"
            raise AssertionError(f"imagezmq's hub never got the message ({why!r})") from None
        except Exception as exc:  # imagezmq raises on what it cannot rebuild
            value, error = None, type(exc).__name__
        hub.send_reply(reply)  # a REP socket must answer whatever happened
        return Outcome(value, error, send.result(timeout=20))

    def via_camhub_hub(self, send: Future[object], method: str, reply: bytes) -> Outcome:
        deadline = time.monotonic() + 20
        while True:
            try:
                got = getattr(self.ch_hub, method)(timeout=0.001)
            except TimeoutError:
                if send.done():  # answered without being returned: refused with ERR
                    return Outcome(None, None, send.result())
                assert time.monotonic() < deadline, "camhub's hub never answered"
                continue
            self.ch_hub.send_reply(reply)
            return Outcome(_summary(method, got), None, send.result(timeout=20))

    def run(self, call: Callable[[Any], object], method: str) -> tuple[Outcome, ...]:
        self.count += 1
        reply = b"R%d" % self.count
        ref = self.via_imagezmq_hub(
            self.iz_hub, self.pools[0].submit(call, self.iz_ref), method, reply
        )
        ours = self.via_camhub_hub(self.pools[1].submit(call, self.iz_to_ch), method, reply)
        back = self.via_imagezmq_hub(
            self.iz_hub2, self.pools[2].submit(call, self.ch_to_iz), method, reply
        )
        return reply, ref, ours, back  # type: ignore[return-value]


def _endpoint(hub: imagezmq.ImageHub) -> str:
    return str(hub.zmq_socket.getsockopt_string(zmq.LAST_ENDPOINT))


@pytest.fixture(scope="module")
def rig() -> Iterator[Rig]:
    r = Rig()
    yield r
    r.close()


# -- what gets generated ---------------------------------------------------------------------

dtypes = st.one_of(
    npst.boolean_dtypes(),
    npst.integer_dtypes(endianness="?"),
    npst.unsigned_integer_dtypes(endianness="?"),
    npst.floating_dtypes(endianness="?", sizes=(16, 32, 64, 128)),
    npst.complex_number_dtypes(endianness="?"),
    npst.byte_string_dtypes(max_len=6),
    npst.unicode_string_dtypes(max_len=6),
).filter(lambda d: d.isnative or d.char not in "gG")
"""pyzmq cannot send a non-native long double (imagezmq's sender raises), so none here."""


@st.composite
def arrays(draw: st.DrawFn) -> np.ndarray:
    dtype = draw(dtypes)
    if draw(st.integers(0, 39)) == 0:  # now and then a large one
        shape = draw(st.sampled_from([(480, 640, 3), (1 << 20,), (240, 320), (64, 64, 4, 2)]))
        count = int(np.prod(shape))
        data = np.random.default_rng(draw(st.integers(0, 2**32))).bytes(count * dtype.itemsize)
    else:
        shape = draw(npst.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5))
        count = int(np.prod(shape))
        data = draw(st.binary(min_size=count * dtype.itemsize, max_size=count * dtype.itemsize))
    array = np.frombuffer(data, dtype=dtype).reshape(shape)
    order = draw(st.sampled_from(["C", "F", "view"]))
    if order == "F":
        return np.asfortranarray(array)
    if order == "view" and array.ndim >= 1 and array.shape[0] > 1:
        return array[::2]  # not contiguous: both senders must copy it
    return array.copy()


_JPEG_COLOUR = camhub.encode_jpeg(make_image(64, 48), quality=90)
_JPEG_GREY = camhub.encode_jpeg(make_image(40, 30)[:, :, 0], quality=70)
_PNG = bytes(cv2.imencode(".png", make_image(20, 10))[1])


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x5A]) + data[at + 1 :]


payloads = st.one_of(
    st.sampled_from([_JPEG_COLOUR, _JPEG_GREY, _PNG, b""]),
    st.integers(0, len(_JPEG_COLOUR)).map(lambda n: _JPEG_COLOUR[:n]),  # cut short
    st.integers(300, len(_JPEG_COLOUR) - 1).map(lambda i: _flip(_JPEG_COLOUR, i)),
    st.binary(max_size=3000),
)
names = st.text(max_size=40)  # any Unicode, lone surrogates and controls included


@st.composite
def messages(draw: st.DrawFn) -> tuple[str, str, object]:
    name = draw(names)
    if draw(st.booleans()):
        return "send_image", name, draw(arrays())
    payload = draw(payloads)
    if draw(st.integers(0, 4)) == 0:
        return "send_jpg", name, np.frombuffer(payload, np.uint8)  # cv2.imencode's output type
    return "send_jpg", name, payload


def _is_decodable_jpeg(payload: object) -> bool:
    try:
        camhub.decode_jpeg(bytes(payload))  # type: ignore[call-overload]
    except camhub.JpegError:
        return False
    return True


@settings(
    max_examples=CASES,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(message=messages(), method=st.sampled_from(["recv_image", "recv_jpg"]))
def test_camhub_returns_what_imagezmq_returns(
    rig: Rig, message: tuple[str, str, object], method: str
) -> None:
    kind, name, payload = message

    def call(sender: Any) -> object:
        return getattr(sender, kind)(name, payload)

    malformed_before = rig.ch_hub.malformed
    reply, ref, ours, back = rig.run(call, method)
    assert ref.reply == reply

    # imagezmq sender -> camhub hub
    if ref.value is not None:
        assert ours.value == ref.value
        assert ours.reply == reply
    elif ours.value is not None:
        # imagezmq raised but camhub did better: only recv_image of a JPEG can do that.
        assert method == "recv_image" and kind == "send_jpg" and _is_decodable_jpeg(payload)
        assert ours.value[0] == name and ours.value[1] == "uint8" and ours.reply == reply
    else:
        assert isinstance(ours.reply, bytes) and ours.reply.startswith(b"ERR "), ours.reply
        assert rig.ch_hub.malformed == malformed_before + 1
    if ours.value is not None:
        assert rig.ch_hub.malformed == malformed_before

    # camhub sender -> imagezmq hub: exactly what imagezmq's own sender gets
    assert (back.value, back.error, back.reply) == (ref.value, ref.error, ref.reply)


# -- the deliberate refusals (docs/protocol.md) ------------------------------------------------


def _exchange(
    hub: camhub.ImageHub, call: Callable[[Any], object], method: str = "recv_jpg"
) -> object:
    sender = imagezmq.ImageSender(hub.endpoint)
    sender.zmq_socket.setsockopt(zmq.RCVTIMEO, 10_000)
    try:
        with ThreadPoolExecutor(1) as pool:
            fut = pool.submit(call, sender)
            with pytest.raises(TimeoutError):
                getattr(hub, method)(timeout=1.0)
            return fut.result(timeout=10)
    finally:
        sender.zmq_socket.close(linger=0)
        sender.zmq_context.term()


def test_refusal_payload_over_the_limit_is_answered_with_err() -> None:
    # max_payload is checked in Python up to ZeroMQ's MAXMSGSIZE (limit + 17 KiB).
    with camhub.ImageHub("tcp://127.0.0.1:0", limits=Limits(max_payload=1000)) as hub:
        reply = _exchange(hub, lambda s: s.send_jpg("big", bytes(1001)))
        assert reply == b"ERR payload is 1001 bytes, over the limit of 1000"
        assert hub.malformed == 1


def test_refusal_header_over_16_kib() -> None:
    with camhub.ImageHub("tcp://127.0.0.1:0") as hub:
        reply = _exchange(hub, lambda s: s.send_jpg("n" * 20_000, _JPEG_COLOUR))
        assert isinstance(reply, bytes) and reply.startswith(b"ERR header is")
        assert hub.malformed == 1


def test_refusal_name_that_is_not_a_string() -> None:
    with camhub.ImageHub("tcp://127.0.0.1:0") as hub:
        reply = _exchange(hub, lambda s: s.send_jpg(5, _JPEG_COLOUR))
        assert reply == b"ERR header has no 'msg' (camera name) string"


def test_structured_dtype_is_bytes_for_recv_jpg_and_err_for_recv_image() -> None:
    # Not a refusal: imagezmq's recv_image raises on it too (numpy cannot parse the
    # dtype's string form); its recv_jpg, like camhub's, hands back the bytes.
    structured = np.arange(6, dtype=np.int32).view("i4,i4")
    with camhub.ImageHub("tcp://127.0.0.1:0") as hub:
        reply = _exchange(hub, lambda s: s.send_image("s", structured), "recv_image")
        assert isinstance(reply, bytes) and reply.startswith(b"ERR unsupported dtype")
        sender = imagezmq.ImageSender(hub.endpoint)
        try:
            with ThreadPoolExecutor(1) as pool:
                fut = pool.submit(sender.send_image, "s", structured)
                assert hub.recv_jpg(timeout=10) == ("s", structured.tobytes())
                hub.send_reply()
                assert fut.result(timeout=10) == b"OK"
        finally:
            sender.zmq_socket.close(linger=0)
            sender.zmq_context.term()


def test_refusal_dtype_string_numpy_parses_but_str_dtype_never_gives() -> None:
    wire = [b'{"msg": "a", "dtype": "a4", "shape": [1]}', b"abcd"]
    with camhub.ImageHub("tcp://127.0.0.1:0") as hub:
        sock = zmq.Context.instance().socket(zmq.REQ)
        sock.setsockopt(zmq.LINGER, 0)
        try:
            sock.connect(hub.endpoint)
            sock.send_multipart(wire)
            with pytest.raises(TimeoutError):
                hub.recv_image(timeout=1.0)
            assert sock.poll(5000) and sock.recv() == b"ERR unsupported dtype 'a4'"
        finally:
            sock.close()
