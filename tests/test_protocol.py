"""The wire format: imagezmq byte compatibility, camhub's extra keys, strict validation."""

from __future__ import annotations

import json

import imagezmq
import numpy as np
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from camhub import Frame, Limits, ProtocolError, protocol
from camhub.video import Codec, VideoPacket
from camhub.video.packet import annexb, h264_type, nal_units
from tests.video.media import h264_stream

_, H264 = h264_stream(6, width=320, height=240, gop=5)
KEY, P_FRAME = H264[0], H264[1]


def imagezmq_wire(kind: str, name: str, payload: object) -> list[bytes]:
    """The exact frames a real imagezmq 1.2.0 SerializingSocket puts on the wire."""
    ctx = imagezmq.imagezmq.SerializingContext()
    tx, rx = ctx.socket(zmq.PAIR), ctx.socket(zmq.PAIR)
    try:
        rx.bind("inproc://wire")
        tx.connect("inproc://wire")
        if kind == "array":
            tx.send_array(payload, name)
        else:
            tx.send_jpg(name, payload)
        return rx.recv_multipart()
    finally:
        tx.close(0)
        rx.close(0)
        ctx.term()


def test_decodes_imagezmq_raw_array(image: np.ndarray) -> None:
    frame = protocol.decode(imagezmq_wire("array", "pi-cam", image))
    assert frame.name == "pi-cam" and frame.encoding == "raw"
    assert frame.seq is None and frame.captured_at is None and frame.age is None
    assert np.array_equal(frame.image, image)
    assert (frame.width, frame.height) == (640, 480)


def test_decodes_imagezmq_jpeg(jpeg: bytes) -> None:
    frame = protocol.decode(imagezmq_wire("jpg", "pi-cam", jpeg))
    assert frame.encoding == "jpeg" and frame.jpeg == jpeg
    assert (frame.width, frame.height) == (640, 480)


def test_grayscale_and_other_dtypes_round_trip() -> None:
    for arr in (np.arange(12, dtype=np.uint16).reshape(3, 4), np.zeros((2, 3, 4), np.float32)):
        frame = protocol.decode(protocol.encode_array("x", arr, seq=3, captured_at=1.5))
        assert frame.image.dtype == arr.dtype and np.array_equal(frame.image, arr)
        assert frame.seq == 3 and frame.captured_at == 1.5


def test_camhub_header_is_what_imagezmq_expects(image: np.ndarray, jpeg: bytes) -> None:
    header, payload = protocol.encode_array("cam", image, seq=7, captured_at=100.25)
    fields = json.loads(header)
    # imagezmq's recv_array reads exactly these three keys and ignores the rest.
    assert (
        fields["msg"] == "cam" and fields["dtype"] == "uint8" and fields["shape"] == [480, 640, 3]
    )
    assert fields["seq"] == 7 and fields["ts"] == 100.25 and fields["enc"] == "raw"
    assert bytes(payload) == image.tobytes()
    jheader, jpayload = protocol.encode_jpeg(
        "cam", jpeg, seq=1, captured_at=2.0, width=640, height=480
    )
    assert "dtype" not in json.loads(jheader) and jpayload == jpeg


def test_encode_frame_keeps_metadata(jpeg: bytes) -> None:
    parts = protocol.encode_frame(
        Frame(name="a", jpeg=jpeg, seq=9, captured_at=5.0, width=640, height=480)
    )
    back = protocol.decode(parts, received_at=5.25)
    assert back.seq == 9 and back.age == pytest.approx(0.25) and back.jpeg == jpeg


def test_unknown_header_keys_are_kept_as_meta(jpeg: bytes) -> None:
    header = json.dumps({"msg": "a", "rotation": 90}).encode()
    assert protocol.decode([header, jpeg]).meta == {"rotation": 90}


def _hdr(**fields: object) -> bytes:
    return json.dumps(fields).encode()


BAD_MESSAGES = [
    ([b"only one frame"], "expected 2 message frames"),
    ([b"{}", b"x", b"y"], "expected 2 message frames"),
    ([b"not json", b"x"], "not valid JSON"),
    ([b"\xff\xfe", b"x"], "not valid JSON"),
    ([b"[1, 2]", b"x"], "must be a JSON object"),
    ([_hdr(dtype="uint8", shape=[1]), b"x"], "no 'msg'"),
    ([_hdr(msg=""), b"x"], "no 'msg'"),
    ([_hdr(msg=5), b"x"], "no 'msg'"),
    ([_hdr(msg="a", dtype="uint8", shape=[2, 2]), b"abc"], "need 4 bytes, payload has 3"),
    ([_hdr(msg="a", dtype="float32", shape=[2]), b"abcd"], "need 8 bytes"),
    ([_hdr(msg="a", dtype="object", shape=[1]), b"x"], "unsupported dtype"),
    ([_hdr(msg="a", dtype="uint8", shape=[100000, 100000, 3]), b"x"], "need 30000000000 bytes"),
    ([_hdr(msg="a", dtype="uint8", shape=[-1]), b"x"], "integers >= 0"),
    ([_hdr(msg="a", dtype="uint8", shape=[1] * 65), b"x"], "at most 64"),
    ([_hdr(msg="a", dtype="|V0", shape=[1]), b""], "unsupported dtype"),
    ([_hdr(msg="a", dtype="a4", shape=[1]), b"abcd"], "unsupported dtype"),
    ([_hdr(msg="a", dtype="i4,f8", shape=[1]), b"x" * 12], "unsupported dtype"),
    ([_hdr(msg="a", dtype="uint8", shape=[0, 2**62, 2**62]), b""], "cannot build an array"),
    ([_hdr(msg="a", dtype="uint8", shape="480x640"), b"x"], "shape must be a list"),
    ([_hdr(msg="a", dtype="uint8", shape=[True]), b"x"], "shape must be a list"),
    ([_hdr(msg="a", width=10, height=10), b"GIF89a"], "not a JPEG"),
    ([_hdr(msg="a", width=0, height=10), b"\xff\xd8"], "'width' must be an integer"),
    ([_hdr(msg="a", seq=-1), b"\xff\xd8"], "'seq' must be an integer"),
    ([_hdr(msg="a", seq="1"), b"\xff\xd8"], "'seq' must be an integer"),
    ([_hdr(msg="a", ts="now"), b"\xff\xd8"], "'ts' must be a finite number"),
    ([b'{"msg": "a", "ts": NaN}', b"\xff\xd8"], "'ts' must be a finite number"),
    ([_hdr(msg="a" * 300), b"\xff\xd8"], "over 256"),
    ([_hdr(msg="a", pad="x" * 20000), b"\xff\xd8"], "header is"),
]


@pytest.mark.parametrize(("parts", "reason"), BAD_MESSAGES)
def test_bad_messages_raise_protocol_error_with_reason(parts: list[bytes], reason: str) -> None:
    with pytest.raises(ProtocolError, match=reason):
        protocol.decode(parts)


def test_payload_limit_is_enforced_before_use() -> None:
    big = np.zeros((100, 100), np.uint8)
    with pytest.raises(ProtocolError, match="over the limit"):
        protocol.decode(protocol.encode_array("a", big), Limits(max_payload=1000))


@pytest.mark.parametrize(
    ("header", "payload", "shape"),
    [
        ({"dtype": "uint8", "shape": [0, 4]}, b"", (0, 4)),
        ({"dtype": "uint8", "shape": [1, 1, 1, 1, 1]}, b"x", (1, 1, 1, 1, 1)),
        ({"dtype": "int64", "shape": []}, bytes(8), ()),
        ({"dtype": ">f8", "shape": [2]}, bytes(16), (2,)),
        ({"dtype": "<U2", "shape": [1]}, "hi".encode("utf-32-le"), (1,)),
    ],
)
def test_arrays_imagezmq_carries_are_accepted(
    header: dict[str, object], payload: bytes, shape: tuple[int, ...]
) -> None:
    frame = protocol.decode([_hdr(msg="a", **header), payload])
    assert frame.encoding == "raw" and frame.image.shape == shape
    assert str(frame.image.dtype) == str(np.dtype(str(header["dtype"])))
    assert frame.image.tobytes() == payload


@pytest.mark.parametrize(
    "payload",
    [b"", b"PNG not a jpeg", b"\x89PNG\r\n\x1a\n", b"\xff\xd8 truncated header"],
)
def test_payload_that_is_not_a_decodable_jpeg_is_carried_opaque(payload: bytes) -> None:
    frame = protocol.decode([_hdr(msg="a"), payload])
    assert frame.encoding == "other" and frame.payload == payload and frame.jpeg is None
    assert frame.width is None and frame.nbytes == len(payload)
    # ... and goes out again exactly as it came.
    assert protocol.decode(protocol.encode_frame(frame)).payload == payload


def test_truncated_jpeg_header_is_never_taken_for_a_jpeg(jpeg: bytes) -> None:
    frame = protocol.decode([_hdr(msg="a"), jpeg[:20]])
    assert frame.encoding == "other" and frame.payload == jpeg[:20]


def test_any_name_accepts_what_imagezmq_does() -> None:
    for name in ["", "a\nb", "\ud800", "x" * 5000, "カメラ"]:
        raw = json.dumps({"msg": name}).encode()
        assert protocol.decode([raw, b"x"], any_name=True).name == name
    with pytest.raises(ProtocolError, match="no 'msg'"):
        protocol.decode([_hdr(msg=5), b"x"], any_name=True)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
headers = st.fixed_dictionaries(
    {},
    optional={
        "msg": st.one_of(st.text(max_size=30), json_values),
        "dtype": st.sampled_from(["uint8", "float32", "int64", "object", "<u2", "a1", "V0"])
        | st.text(max_size=12)
        | json_values,
        "shape": st.lists(st.integers(-3, 2**64), max_size=70) | json_values,
        "seq": st.integers(-5, 2**65) | json_values,
        "ts": st.floats(allow_nan=True) | json_values,
        "width": st.integers(-5, 70000) | json_values,
        "height": st.integers(-5, 70000) | json_values,
    },
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(header=headers, payload=st.binary(max_size=300))
def test_fuzzed_headers_only_ever_raise_protocol_error(
    header: dict[str, object], payload: bytes
) -> None:
    raw = json.dumps(header, allow_nan=True).encode()
    try:
        frame = protocol.decode([raw, payload])
    except ProtocolError:
        return
    assert isinstance(frame.name, str) and frame.name


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.binary(max_size=64), max_size=4))
def test_fuzzed_frames_only_ever_raise_protocol_error(parts: list[bytes]) -> None:
    try:
        protocol.decode(parts)
    except ProtocolError:
        pass


_STAMP_NAMES = st.text(min_size=1, max_size=12).filter(lambda n: n.isprintable())


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=_STAMP_NAMES,
    seq=st.integers(min_value=0, max_value=2**62),
    ts=st.floats(min_value=0, max_value=1e11, allow_nan=False),
    ack=st.one_of(st.none(), st.integers(min_value=1, max_value=64)),
    video=st.sampled_from(
        ["", ',"key":1', ',"key":0,"pts":-3', ',"key":0,"pts":9,"dts":7', ',"pts":5', ',"key":2']
    ),
    extra=st.sampled_from(
        [
            "",
            ',"enc":"jpeg"',
            ',"width":640,"height":480',
            ',"seq":7',
            ',"key":0',
            ',"enc":"h264","width":320,"height":240',
            ',"video":["h264"]',
        ]
    ),
)
def test_stamped_headers_parse_as_json_does(
    name: str, seq: int, ts: float, ack: int | None, video: str, extra: str
) -> None:
    """The remembered-remainder path (stamps matched, the rest parsed once) gives what a
    full JSON parse gives, for camhub's own headers and for look-alikes, with and without
    the optional video stamps."""
    head = ("" if ack is None else f'"ack":{ack},') + f'"seq":{seq},"ts":{ts!r}' + video
    raw = ("{" + head + extra + ',"msg":' + json.dumps(name) + "}").encode()
    for _ in range(2):  # the second time comes from the cache
        assert protocol.parse_header(raw, any_name=True) == json.loads(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"seq":1,"ts":1.5,}',  # the remainder alone would be "{}"
        b'{"ack":2,"seq":1,"ts":1.5,',
        b'{"seq":1,"ts":1.5,"msg":5}',
        b'{"seq":01,"ts":1.5,"msg":"a"}',
        b'{"seq":1,"ts":1.5,"key":1,}',
        b'{"seq":1,"ts":1.5,"key":1,"pts":--1,"msg":"a"}',
    ],
)
def test_stamped_look_alikes_that_are_not_valid_are_refused(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        protocol.parse_header(raw)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=_STAMP_NAMES,
    seq=st.one_of(st.none(), st.integers(min_value=0, max_value=2**62)),
    ts=st.one_of(st.none(), st.floats(min_value=0, max_value=1e11, allow_nan=False)),
    ack=st.one_of(st.none(), st.integers(min_value=1, max_value=1024)),
    kind=st.sampled_from(["jpeg", "sized-jpeg", "raw", "other", "video-key", "video-p"]),
    pts=st.one_of(st.none(), st.integers(min_value=-(2**62), max_value=2**62)),
    dts=st.one_of(st.none(), st.integers(min_value=-(2**62), max_value=2**62)),
    offer=st.sampled_from([(), ("h264",), ("h264", "vp8", "vp9")]),
)
def test_what_encode_writes_parse_header_reads_back(
    name: str,
    seq: int | None,
    ts: float | None,
    ack: int | None,
    kind: str,
    pts: int | None,
    dts: int | None,
    offer: tuple[Codec, ...],
    jpeg: bytes,
) -> None:
    """The header's one writer (encode) and its reader (parse_header, fast path and
    full parse) agree on every key, for every frame kind, with and without stamps."""
    if kind == "raw":
        frame = Frame(name, array=np.arange(6, dtype=np.int16).reshape(2, 3))
    elif kind == "other":
        frame = Frame(name, payload=b"\x89PNG....")
    elif kind.startswith("video"):
        packet = KEY if kind == "video-key" else P_FRAME
        frame = Frame(name, video=VideoPacket("h264", packet.data, packet.keyframe, pts, dts))
        frame.width, frame.height = 320, 240
    else:
        frame = Frame(name, jpeg=jpeg)
        if kind == "sized-jpeg":
            frame.width, frame.height = 640, 480
    frame.seq, frame.captured_at = seq, ts
    raw = bytes(
        protocol.encode(frame, ack=ack, offer=protocol.offer_json(offer) if offer else None)[0]
    )
    want = json.loads(raw)
    assert list(want)[: 1 if ack is not None else 0] == (["ack"] if ack is not None else [])
    assert want["msg"] == name and want.get("ack") == ack
    assert want.get("seq") == seq and want.get("ts") == ts
    assert want.get("video") == (list(offer) if offer else None)
    if frame.video is not None:
        assert want["enc"] == "h264" and want["key"] == int(frame.video.keyframe)
        assert want.get("pts") == pts
        assert want.get("dts") == (dts if dts != pts else None)  # dts only where it differs
        assert (want["width"], want["height"]) == (320, 240)
    else:
        assert ("enc" in want) == (seq is not None or ts is not None)
        assert "key" not in want and "pts" not in want
    for _ in range(2):  # the second time comes from the cache
        assert protocol.parse_header(raw, any_name=True) == want


def test_every_decoder_refuses_the_same_envelopes(jpeg: bytes) -> None:
    """One envelope check (protocol.envelope) serves the hub's decoder, the credit
    decoder and the compat ImageHub: the same message is refused with the same reason."""
    limits = Limits(max_payload=100)
    bad = [
        [b'{"msg":"a"}'],
        [b'{"msg":"a"}', jpeg, b"x"],
        [b'{"msg":"a"}', bytes(101)],
        [b"[1]", b"x"],
    ]
    for parts in bad:
        with pytest.raises(ProtocolError) as env:
            protocol.envelope(parts, limits, any_name=True)
        with pytest.raises(ProtocolError) as dec:
            protocol.decode(parts, limits, any_name=True)
        with pytest.raises(ProtocolError) as ack:
            protocol.decode_with_ack(parts, limits)
        assert str(env.value) == str(dec.value) == str(ack.value)


# -- video ---------------------------------------------------------------------------------


def video_frame(packet: VideoPacket, **kw: object) -> Frame:
    frame = Frame("cam", video=packet, seq=3, captured_at=1795461683.5, **kw)  # type: ignore[arg-type]
    return frame


def test_video_frames_round_trip_with_their_stamps() -> None:
    for packet in H264:
        sent = video_frame(VideoPacket("h264", packet.data, packet.keyframe, 1800, 900))
        sent.width, sent.height = 320, 240
        parts = protocol.encode(sent, ack=4)
        head = json.loads(bytes(parts[0]))
        assert list(head)[:6] == ["ack", "seq", "ts", "key", "pts", "dts"]  # stamps first
        back, ack, offer = protocol.decode_request(parts)
        assert ack == 4 and offer == ()
        assert back.video == sent.video and back.encoding == "h264"
        assert (back.width, back.height, back.seq) == (320, 240, 3)
        assert back.captured_at == sent.captured_at and back.meta == {}


def test_keyframe_size_comes_from_its_own_parameter_sets() -> None:
    assert (video_frame(KEY).width, video_frame(KEY).height) == (320, 240)
    assert video_frame(P_FRAME).width is None  # a P-frame does not say
    with pytest.raises(ProtocolError, match="no picture size"):
        protocol.encode(video_frame(P_FRAME))


def test_a_video_frame_always_goes_out_as_video() -> None:
    """A hub decodes a video frame's picture (``array``) and may cache a JPEG of it; it
    still travels as the packet it came as."""
    frame = video_frame(KEY)
    frame.array = np.zeros((240, 320, 3), np.uint8)
    frame.jpeg = b"\xff\xd8 a cached JPEG of the picture"
    head, payload = protocol.encode(frame)
    assert json.loads(bytes(head))["enc"] == "h264" and bytes(payload) == KEY.data
    assert frame.encoding == "h264" and frame.nbytes == len(KEY.data)


def _header(**fields: object) -> bytes:
    base: dict[str, object] = {"msg": "cam", "enc": "h264", "key": 1, "width": 320, "height": 240}
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not None}).encode()


def _without_sps(data: bytes) -> bytes:
    return annexb([u for u in nal_units(data) if h264_type(u) != 7])


@pytest.mark.parametrize(
    ("header", "payload", "reason"),
    [
        (
            _header(width=640, height=480),
            KEY.data,
            "header says 640x480 but the h264 keyframe is 320x240",
        ),
        (_header(), P_FRAME.data, "marks a keyframe but the h264 packet is not one"),
        (_header(), _without_sps(KEY.data), "carries no picture size"),
        (_header(), b"", "packet is empty"),
        (_header(), b"\x00\x00\x01\x67\x64", "keyframe is malformed|not one"),
        (_header(key=None), KEY.data, "'key' must be 0 or 1"),
        (_header(key=True), KEY.data, "'key' must be 0 or 1"),
        (_header(key=2), KEY.data, "'key' must be 0 or 1"),
        (_header(width=None), KEY.data, "needs 'width' and 'height'"),
        (_header(width=0), KEY.data, "'width' must be an integer"),
        (_header(width=16384, height=16384), KEY.data, "over the limit"),
        (_header(pts="1"), KEY.data, "'pts' must be an integer"),
        (_header(dts=2**70), KEY.data, "'dts' must be an integer"),
        (_header(dtype="uint8", shape=[1]), KEY.data, "no 'dtype' or 'shape'"),
    ],
)
def test_malformed_video_frames_are_refused_with_a_reason(
    header: bytes, payload: bytes, reason: str
) -> None:
    with pytest.raises(ProtocolError, match=reason):
        protocol.decode([header, payload])


def test_p_frames_are_not_checked_against_a_keyframe_they_are_not() -> None:
    frame = protocol.decode([_header(key=0), P_FRAME.data])
    assert frame.video is not None and not frame.video.keyframe


def test_capability_offer_and_answer() -> None:
    offer = protocol.offer_json(["h264", "vp9"])
    assert offer == '"video":["h264","vp9"]'
    parts = protocol.encode(Frame("cam", jpeg=b"\xff\xd8x", seq=1, captured_at=2.5), offer=offer)
    assert protocol.decode_request(parts)[2] == ("h264", "vp9")
    # Names a hub does not know are left out; anything but a short list of names is refused.
    assert protocol.decode_request([b'{"msg":"c","video":["av1","h264"]}', b"x"])[2] == ("h264",)
    for bad in (b'"h264"', b"[1]", b"{}", json.dumps(["h264"] * 17).encode()):
        with pytest.raises(ProtocolError, match="'video' must be a list"):
            protocol.decode_request([b'{"msg":"c","video":' + bad + b"}", b"x"])
    assert protocol.video_reply(["h264", "hevc"]) == b"video=h264,hevc"
    assert protocol.parse_video_reply(b"video=h264,hevc,av1") == {"h264", "hevc"}
    assert protocol.parse_video_reply(None) == frozenset()
    assert protocol.parse_video_reply(b"1") == frozenset()
