"""The camhub wire format: byte-compatible with imagezmq 1.2.0.

Every image is one ZeroMQ multipart message of exactly two frames:

* frame 0, a UTF-8 JSON object (the header);
* frame 1, the payload, sent without copying.

Header keys:

=========  ==========================================================================
``msg``    str, required. The camera name (imagezmq calls it the message text).
``dtype``  str. Present only for raw arrays: numpy dtype name, e.g. ``"uint8"``.
``shape``  list[int]. Present only for raw arrays, e.g. ``[480, 640, 3]``.
``seq``    int >= 0, camhub only. The sender's frame counter; gaps count as drops.
``ts``     float, camhub only. Capture time, seconds since the epoch (sender clock).
``enc``    ``"jpeg"`` or ``"raw"``, camhub only. Informational.
``width``  int, camhub only, JPEG frames: pixel width; must match the JPEG's header.
``height`` int, camhub only, JPEG frames: pixel height; must match the JPEG's header.
``ack``    int 1..1024, camhub only: the sender takes credit acknowledgements (below).
``key``    0 or 1, video frames: whether the packet is a keyframe (a decoder starts there).
``pts``    int, video frames, optional: presentation time in 90 kHz ticks of the stream.
``dts``    int, video frames, optional: decode time, only where it differs from ``pts``.
``video``  list of codec names, camhub senders: the codecs it could send (below).
=========  ==========================================================================

A header with ``dtype`` and ``shape`` carries a raw C-contiguous array of any dtype numpy
can rebuild from bytes and any number of dimensions (0 to 64, sizes >= 0), whose byte
length must equal ``prod(shape) * itemsize``. A header without them carries JPEG bytes
(imagezmq's ``send_jpg``), or any other bytes: those are carried untouched as an opaque
frame (``Frame.payload``, encoding ``"other"``) and never decoded.
imagezmq peers send only ``msg`` (plus ``dtype``/``shape``) and ignore keys they do not
know, so both directions interoperate. Unknown keys are kept in ``Frame.meta``.

A header whose ``enc`` names a video codec (``h264``, ``hevc``, ``vp8``, ``vp9``) carries
one access unit of compressed video (:class:`~camhub.video.VideoPacket`): ``key``,
``width`` and ``height`` are required, H.264/H.265 travel as Annex B with their parameter
sets in front of every keyframe, and a keyframe's picture size must match the header's.
The packet depends on the ones before it since its keyframe: ``seq`` is what tells a hub
that one was lost (the rest of that group is then undecodable).

Capability exchange: a camhub sender that could send video puts ``"video": [codecs]`` in
its headers until a hub answers. A camhub hub that takes video answers such a frame with
one more reply part after the count: ``[reply, count, b"video=h264,hevc,vp8,vp9"]``
(count ``b"1"`` for a sender that does not take credit). A reply without it (imagezmq's
REP hub, the compat ``ImageHub``, an older camhub) means: no video, send JPEG.

In REQ/REP mode the hub answers every message with one frame, ``b"OK"`` by default.
camhub hubs answer a message they cannot decode with ``b"ERR <reason>"`` so that the
sender is never left waiting. Senders that pipeline (camhub's DEALER sockets) prefix the
two frames with an empty delimiter frame, exactly as a REQ socket does on the wire, so
an imagezmq REP hub serves them too.

Credit acknowledgements: a pipelining sender that puts ``"ack": N`` in its headers asks
a camhub hub to answer only every Nth frame, with a two-frame reply ``[b"OK", b"<k>"]``
that acknowledges the ``k`` frames received from that connection since its last reply.
A hub also answers a shorter run once it has waited :data:`ACK_DELAY` s for more, so a
sender's last frames are confirmed too. An ``ERR`` reply still goes out at once, as one
frame, and acknowledges just the frame it refuses. Senders never have more frames in
flight than their window, which is at least N, so they never wait on a held-back
answer. Peers that do not announce ``ack`` (imagezmq) get one reply per frame, and a
sender that announces it must also accept that (an imagezmq hub ignores the key).

Decoding validates the envelope and raises :class:`ProtocolError` on bad input. JPEG
pixels are validated where they are decoded (``Frame.image``), not here.
"""

from __future__ import annotations

import functools
import json
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from camhub.jpeg import MAX_JPEG_PIXELS, JpegError, jpeg_size
from camhub.types import CamhubError, Frame, Image
from camhub.video.packet import CODECS, BitstreamError, Codec, VideoPacket, coded_size, is_keyframe

DEFAULT_REPLY = b"OK"
ACK_DELAY = 0.1
"""Seconds a hub holds back a credit acknowledgement while waiting for more frames:
longer than the gap between frames of a 15 fps camera, so paced senders are answered
once per ``ack`` frames too; only ``Sender.flush`` ever waits for it."""
ERROR_REPLY_PREFIX = b"ERR "
KNOWN_KEYS = frozenset(
    {"msg", "dtype", "shape", "seq", "ts", "enc", "width", "height", "ack"}
    | {"key", "pts", "dts", "video"}
)
VIDEO_REPLY_PREFIX = b"video="
"""The extra reply part a hub that takes video answers an offer with (``video=h264,...``)."""
MAX_OFFER = 16
"""Most codec names a sender's ``video`` offer may list."""
MAX_ACK = 1024
"""Largest ``ack`` (frames per acknowledgement) a hub accepts."""
MAX_NDIM = 64
"""Most dimensions numpy (2.x) gives an array."""

# What ``str(array.dtype)`` looks like for every dtype with a buffer: "uint8", ">i4",
# "<U5", "|S3", "float128", "datetime64[s]". Checked before numpy parses the text, which
# keeps odd strings (and numpy's deprecated "a" alias, which warns) away from np.dtype.
_DTYPE_NAME = re.compile(r"[<>|=]?[b-zA-Z][a-zA-Z]*[0-9]*(?:\[[a-zA-Z]+\])?")

Buffer = bytes | memoryview
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


class ProtocolError(CamhubError, ValueError):
    """A message does not follow the wire format; the text says what is wrong."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds a receiver enforces before it allocates or decodes anything."""

    max_payload: int = 32 * 1024 * 1024
    max_header: int = 16 * 1024
    max_dim: int = 16384
    """Largest JPEG side camhub decodes; a larger JPEG is kept as an opaque frame."""
    max_pixels: int = MAX_JPEG_PIXELS
    """Largest width x height a JPEG may declare to be decoded (opaque frame otherwise)."""
    max_name: int = 256
    """Longest camera name (the native hub; the compat ``ImageHub`` takes any name)."""


DEFAULT_LIMITS = Limits()


_JSON_DECODER = json.JSONDecoder()


_JSON_STRINGS: dict[str, str] = {}


def _json_string(text: str) -> str:
    """``json.dumps(text)``, remembered: a sender repeats its few camera names."""
    out = _JSON_STRINGS.get(text)
    if out is None:
        if len(_JSON_STRINGS) >= 1024:
            _JSON_STRINGS.clear()
        out = _JSON_STRINGS[text] = json.dumps(text)
    return out


_DTYPE_JSON: dict[np.dtype[Any], str] = {}


def _dtype_json(dtype: np.dtype[Any]) -> str:
    """``"dtype":"uint8"``, remembered per dtype (``str(dtype)`` costs microseconds)."""
    out = _DTYPE_JSON.get(dtype)
    if out is None:
        if len(_DTYPE_JSON) >= 256:
            _DTYPE_JSON.clear()
        out = _DTYPE_JSON[dtype] = '"dtype":' + json.dumps(str(dtype))
    return out


# -- the header: written here, read back here -----------------------------------------
#
# Key order: a credit sender's ``ack`` (the same on every frame), then the per-frame
# stamps in _STAMP_KEYS order, then ``enc`` and the kind's fields (``width``/``height``
# or ``dtype``/``shape``), then ``msg``. Everything after the stamps is the same from
# frame to frame of one camera, which is what lets parse_header check it once per
# camera. Unstamped frames (imagezmq's own header, camhub's lock-step ImageSender) carry
# neither stamps nor ``enc``.

_TICKS = rb"-?(?:0|[1-9][0-9]{0,17})"
_STAMP_KEYS: tuple[tuple[str, bytes, Callable[[bytes], object], bool], ...] = (
    ("seq", rb"0|[1-9][0-9]{0,17}", int, False),
    ("ts", rb"[0-9]{1,12}\.[0-9]{1,20}", float, False),
    ("key", rb"[01]", int, True),
    ("pts", _TICKS, int, True),
    ("dts", _TICKS, int, True),
)
"""The per-frame keys a camhub sender writes first, each with the form it writes them in
(an ``int``; the ``float`` repr of a time since the epoch) and whether it may be left out
(the video stamps: JPEG and raw headers end their stamps at ``ts``). A value in another
form (a tiny float's exponent) still parses, through the full JSON parse."""

_STAMPS = re.compile(
    rb'(\{(?:"ack":[0-9]{1,6},)?)'
    + b"".join(
        (b'(?:"' if optional else b'"')
        + key.encode()
        + b'":('
        + form
        + (b"),)?" if optional else b"),")
        for key, form, _, optional in _STAMP_KEYS
    )
)
"""The stamps at the front of a header, read back without a JSON parse: group 1 is what
comes before them (``{`` and a credit sender's ``ack``), then one group per stamp (an
optional stamp's group is ``None`` when the header has none)."""
_STAMP_NAMES = tuple(name for name, _, _, _ in _STAMP_KEYS)
_REQUIRED = tuple(
    (group, name, read)
    for group, (name, _, read, optional) in enumerate(_STAMP_KEYS, 2)
    if not optional
)
_OPTIONAL = tuple(
    (group, name, read)
    for group, (name, _, read, optional) in enumerate(_STAMP_KEYS, 2)
    if optional
)
_LAST_REQUIRED = len(_REQUIRED) + 1
"""The regex group of the last required stamp: a match whose ``lastindex`` is past it
has optional (video) stamps too."""
_VIDEO_ENCODINGS = frozenset(CODECS)
_PTS_RANGE = 2**62
"""Bound on ``pts``/``dts`` ticks (90 kHz: 1.6 million years)."""


def _stamps(frame: Frame) -> list[str]:
    stamps = []
    if frame.seq is not None:
        stamps.append(f'"seq":{int(frame.seq)}')
    if frame.captured_at is not None:
        if not math.isfinite(frame.captured_at):
            raise ProtocolError(f"capture time must be a finite number, got {frame.captured_at!r}")
        stamps.append(f'"ts":{float(frame.captured_at)!r}')
    packet = frame.video
    if packet is not None:
        stamps.append('"key":1' if packet.keyframe else '"key":0')
        if packet.pts is not None:
            stamps.append(f'"pts":{int(packet.pts)}')
        if packet.dts is not None and packet.dts != packet.pts:
            stamps.append(f'"dts":{int(packet.dts)}')
    return stamps


_VIDEO_JSON: dict[tuple[str, int, int], str] = {}


def _video_json(codec: str, width: int, height: int) -> str:
    """``"enc":"h264","width":W,"height":H``, remembered (constant per camera)."""
    key = (codec, width, height)
    out = _VIDEO_JSON.get(key)
    if out is None:
        if len(_VIDEO_JSON) >= 256:
            _VIDEO_JSON.clear()
        out = _VIDEO_JSON[key] = f'"enc":"{codec}","width":{width},"height":{height}'
    return out


def offer_json(codecs: Sequence[Codec]) -> str:
    """A sender's capability offer as a header field: ``"video":["h264",...]``."""
    return '"video":' + json.dumps([str(c) for c in codecs], separators=(",", ":"))


def video_reply(codecs: Sequence[Codec]) -> bytes:
    """The reply part a hub that takes ``codecs`` answers an offer with."""
    return VIDEO_REPLY_PREFIX + ",".join(codecs).encode()


def parse_video_reply(part: bytes | None) -> frozenset[Codec]:
    """The codecs a hub's reply says it takes; ``frozenset()`` for a reply without the
    part (an imagezmq or compat hub, an older camhub) or one that names none."""
    if part is None or not part.startswith(VIDEO_REPLY_PREFIX):
        return frozenset()
    names = part[len(VIDEO_REPLY_PREFIX) :].decode("ascii", "replace").split(",")
    return frozenset(c for c in CODECS if c in names)


def encode(frame: Frame, *, ack: int | None = None, offer: str | None = None) -> list[Buffer]:
    """The two frames for a :class:`Frame`: its video packet, its JPEG bytes, its array,
    or its opaque payload (which goes out exactly as it came in, as imagezmq's
    ``send_jpg`` sends it). A video frame always goes out as video, whatever picture a
    decoder attached to it.

    ``ack``: the frames per credit acknowledgement a credit sender asks for (``None``:
    not a credit sender, a reply per frame; see the module docstring). ``offer``: the
    sender's capability offer (:func:`offer_json`). The header is formatted directly: a
    sender writes one per frame, and this is about twice as fast as encoding a dict."""
    head = [] if ack is None else [f'"ack":{int(ack)}']
    stamps = _stamps(frame)
    head += stamps
    payload: Buffer
    packet = frame.video
    if packet is not None:
        if frame.width is None or frame.height is None:
            raise ProtocolError(
                f"video frame of camera {frame.name!r} has no picture size (width, height)"
            )
        head.append(_video_json(packet.codec, int(frame.width), int(frame.height)))
        payload = packet.data
    elif frame.jpeg is None and frame.array is not None:
        arr = c_contiguous(frame.array)
        if stamps:
            head.append('"enc":"raw"')
        head += (_dtype_json(arr.dtype), '"shape":[' + ",".join(map(str, arr.shape)) + "]")
        # memoryview cannot cast a view with a zero in its shape
        payload = memoryview(arr).cast("B") if arr.size else b""  # type: ignore[arg-type]
    else:
        if stamps:
            head.append('"enc":"jpeg"')
        if frame.jpeg is not None and frame.width is not None and frame.height is not None:
            head.append(f'"width":{int(frame.width)},"height":{int(frame.height)}')
        payload = frame.jpeg if frame.jpeg is not None else frame.payload or b""
    if offer is not None:
        head.append(offer)
    head.append('"msg":' + _json_string(frame.name))
    return [("{" + ",".join(head) + "}").encode(), payload]


def encode_jpeg(
    name: str,
    jpeg: Buffer,
    *,
    seq: int | None = None,
    captured_at: float | None = None,
    width: int | None = None,
    height: int | None = None,
) -> list[Buffer]:
    """The two frames for a JPEG image (what imagezmq's ``send_jpg`` sends, plus stamps)."""
    # A memoryview is sent as it is, uncopied.
    frame = Frame(name, jpeg=jpeg, seq=seq, captured_at=captured_at, width=width, height=height)  # type: ignore[arg-type]
    return encode(frame)


def c_contiguous(array: Image) -> Image:
    """The array itself if it is C-contiguous, else a C-ordered copy; unlike
    ``np.ascontiguousarray`` it keeps a 0-D array 0-D."""
    array = np.asarray(array)
    return array if array.flags.c_contiguous else np.ascontiguousarray(array)


def encode_array(
    name: str, array: Image, *, seq: int | None = None, captured_at: float | None = None
) -> list[Buffer]:
    """The two frames for a raw array (what imagezmq's ``send_image`` sends, plus stamps)."""
    return encode(Frame(name, array=array, seq=seq, captured_at=captured_at))


def encode_frame(frame: Frame) -> list[Buffer]:
    """:func:`encode` with a reply per frame."""
    return encode(frame)


def _int_field(header: dict[str, Any], key: str, lo: int, hi: int) -> int | None:
    value = header.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise ProtocolError(f"header '{key}' must be an integer in {lo}..{hi}, got {value!r}")
    return value


_PARSED: dict[tuple[bytes, bool, int], dict[str, Any]] = {}
"""Checked headers without their stamps, by (bytes, any_name, max_name)."""


def parse_header(
    raw: Buffer, limits: Limits = DEFAULT_LIMITS, *, any_name: bool = False
) -> dict[str, Any]:
    """Parse and check frame 0; returns the JSON object (see :func:`decode` for
    ``any_name``).

    A sender repeats one header per camera except for its stamps, so the rest is parsed
    and checked once and remembered: a header then costs a regex match and two number
    conversions instead of a JSON parse."""
    if len(raw) > limits.max_header:
        raise ProtocolError(f"header is {len(raw)} bytes, over the limit of {limits.max_header}")
    data = raw if type(raw) is bytes else bytes(raw)
    stamps = _STAMPS.match(data)
    rest = stamps[1] + data[stamps.end() :] if stamps else data
    key = (rest, any_name, limits.max_name)
    checked = _PARSED.get(key)
    if checked is None:
        try:
            checked = _parse_header(rest, limits, any_name)
        except ProtocolError:
            if stamps is None:
                raise
            checked = None
        if checked is None or (
            stamps is not None and any(name in checked for name in _STAMP_NAMES)
        ):
            # The remainder alone is not what the sender meant (duplicate stamps, a
            # trailing comma...): parse the whole header, for the exact error.
            return _parse_header(data, limits, any_name)
        if len(_PARSED) >= 256:  # a flood of distinct headers must not grow memory
            _PARSED.clear()
        _PARSED[key] = checked
    header = dict(checked)  # callers may keep or change their copy
    if stamps is not None:
        for group, name, read in _REQUIRED:
            header[name] = read(stamps[group])
        if stamps.lastindex != _LAST_REQUIRED:  # JPEG and raw headers stop at ``ts``
            for group, name, read in _OPTIONAL:
                value = stamps[group]
                if value is not None:
                    header[name] = read(value)
    return header


def _parse_header(data: bytes, limits: Limits, any_name: bool) -> dict[str, Any]:
    try:
        # Decoding first skips json.loads's sniffing for UTF-16/32, which the wire never uses.
        header = _JSON_DECODER.decode(str(data, "utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"header is not valid JSON: {exc}") from None
    except RecursionError:  # e.g. 16 KB of '[': must not escape as a non-ProtocolError
        raise ProtocolError("header JSON is nested too deeply") from None
    if not isinstance(header, dict):
        raise ProtocolError(f"header must be a JSON object, got {type(header).__name__}")
    name = header.get("msg")
    if any_name and isinstance(name, str):
        return header
    if not isinstance(name, str) or not name:
        raise ProtocolError("header has no 'msg' (camera name) string")
    if len(name) > limits.max_name:
        raise ProtocolError(f"camera name is {len(name)} characters, over {limits.max_name}")
    if _UNPRINTABLE.search(name):
        # Control characters forge log lines; lone surrogates break every UTF-8 consumer.
        raise ProtocolError(f"camera name {name!r} contains control or invalid characters")
    return header


@functools.lru_cache(maxsize=256)
def _dtype(name: str) -> np.dtype[Any] | None:
    """The numpy dtype a header names, or ``None`` if camhub will not build arrays of it.

    Any dtype ``np.frombuffer`` can rebuild is carried, as imagezmq does: every integer,
    float and complex width, bool, either byte order, fixed-width strings. Object dtypes
    (pointers) and zero-size items cannot be. Cached, because senders repeat one name.
    """
    if not _DTYPE_NAME.fullmatch(name):
        return None
    try:
        dtype = np.dtype(name)
    except Exception:  # numpy raises TypeError, ValueError or worse for odd strings
        return None
    if dtype.hasobject or dtype.itemsize == 0 or dtype.fields is not None:
        return None
    return dtype


def decode_array(header: dict[str, Any], payload: Buffer) -> Image:
    """The array a parsed header's ``dtype``/``shape`` describe, a view on ``payload``."""
    dtype_name = header.get("dtype")
    shape = header.get("shape")
    dtype = _dtype(dtype_name) if isinstance(dtype_name, str) else None
    if dtype is None:
        raise ProtocolError(f"unsupported dtype {dtype_name!r}")
    if (
        not isinstance(shape, list)
        or len(shape) > MAX_NDIM
        or not all(type(d) is int and d >= 0 for d in shape)
    ):
        raise ProtocolError(
            f"shape must be a list of at most {MAX_NDIM} integers >= 0, got {shape!r:.100}"
        )
    # The payload's length is already bounded, so this check bounds the array too:
    # np.frombuffer + reshape only make a view, nothing is allocated.
    expected = math.prod(shape) * dtype.itemsize
    if expected != len(payload):
        raise ProtocolError(
            f"dtype {dtype_name} and shape {shape} need {expected} bytes, payload has {len(payload)}"
        )
    try:
        return np.frombuffer(payload, dtype=dtype).reshape(shape)
    except ValueError as exc:  # e.g. a dimension too large for numpy next to a zero
        raise ProtocolError(f"cannot build an array of shape {shape!r:.100}: {exc}") from None


def _jpeg_size_within(payload: Buffer, limits: Limits) -> tuple[int, int] | None:
    """``(width, height)`` if the payload is a JPEG camhub will decode, else ``None``
    (:func:`why_not_a_jpeg` says why; this reads the header once, on every frame)."""
    try:
        width, height = jpeg_size(payload)
    except JpegError:
        return None
    return (width, height) if _within(width, height, limits) else None


def _within(width: int, height: int, limits: Limits) -> bool:
    return (
        width <= limits.max_dim and height <= limits.max_dim and width * height <= limits.max_pixels
    )


def why_not_a_jpeg(payload: Buffer, limits: Limits = DEFAULT_LIMITS) -> str | None:
    """Why ``payload`` is not a JPEG camhub will decode, or ``None`` when it is one.

    For paths that only ever carry JPEG (a browser camera's frames), which refuse what
    the ZeroMQ wire would carry as an opaque payload."""
    if not payload:
        return "payload is empty, not a JPEG"
    try:
        width, height = jpeg_size(payload)
    except JpegError as exc:
        return str(exc)
    if not _within(width, height, limits):
        return (
            f"JPEG declares {width}x{height} pixels, over the limits ({limits.max_dim} per "
            f"side, {limits.max_pixels} in all)"
        )
    return None


def envelope(
    parts: Sequence[Buffer], limits: Limits = DEFAULT_LIMITS, *, any_name: bool = False
) -> tuple[dict[str, Any], Buffer]:
    """The checks every message passes before anything is built from it: exactly two
    frames, a header within the limits (parsed and checked, see :func:`parse_header`),
    a payload within ``limits.max_payload``. Returns the header and the payload."""
    if len(parts) != 2:
        raise ProtocolError(f"expected 2 message frames (JSON header, payload), got {len(parts)}")
    header = parse_header(parts[0], limits, any_name=any_name)
    payload = parts[1]
    if len(payload) > limits.max_payload:
        raise ProtocolError(
            f"payload is {len(payload)} bytes, over the limit of {limits.max_payload}"
        )
    return header, payload


def decode(
    parts: Sequence[Buffer],
    limits: Limits = DEFAULT_LIMITS,
    received_at: float | None = None,
    *,
    any_name: bool = False,
) -> Frame:
    """Turn the two frames of one message into a :class:`Frame`, or raise ProtocolError.

    Raw arrays become ``frame.array`` (a view on the payload). A payload sent without
    ``dtype``/``shape`` (imagezmq's ``send_jpg``) becomes ``frame.jpeg`` when it is a JPEG
    whose header reads and whose size is within ``limits``; anything else (PNG, WebP,
    arbitrary or empty bytes, a JPEG too big to decode) is kept untouched as
    ``frame.payload`` (``encoding == "other"``), never decoded. JPEG pixels are not
    decoded here: validation belongs where decoding happens (``frame.image``).

    ``any_name``: accept any string as the camera name, as imagezmq does (the compat
    ``ImageHub`` hands it straight back to the caller); otherwise names must be
    non-empty, printable and at most ``limits.max_name`` characters, because the native
    hub puts them into logs, URLs and the dashboard.
    """
    header, payload = envelope(parts, limits, any_name=any_name)
    return _decode(header, payload, limits, received_at)


def decode_with_ack(
    parts: Sequence[Buffer], limits: Limits = DEFAULT_LIMITS, received_at: float | None = None
) -> tuple[Frame, int | None]:
    """:func:`decode`, plus the header's ``ack`` (frames per credit acknowledgement), or
    ``None`` where the sender did not announce one (imagezmq, lock-step camhub)."""
    frame, ack, _offer = decode_request(parts, limits, received_at)
    return frame, ack


def decode_request(
    parts: Sequence[Buffer], limits: Limits = DEFAULT_LIMITS, received_at: float | None = None
) -> tuple[Frame, int | None, tuple[Codec, ...]]:
    """:func:`decode_with_ack`, plus the video codecs the sender offers (``()`` for
    none; names camhub does not know are left out)."""
    header, payload = envelope(parts, limits)
    ack = _int_field(header, "ack", 1, MAX_ACK) if "ack" in header else None
    offer = _offer(header["video"]) if "video" in header else ()
    return _decode(header, payload, limits, received_at), ack, offer


def _offer(value: object) -> tuple[Codec, ...]:
    if (
        not isinstance(value, list)
        or len(value) > MAX_OFFER
        or not all(isinstance(v, str) for v in value)
    ):
        raise ProtocolError(
            f"header 'video' must be a list of at most {MAX_OFFER} codec names, got {value!r:.80}"
        )
    return tuple(c for c in CODECS if c in value)


def _decode(
    header: dict[str, Any], payload: Buffer, limits: Limits, received_at: float | None
) -> Frame:
    seq = _int_field(header, "seq", 0, 2**63 - 1)
    ts = header.get("ts")
    if ts is not None and (
        not isinstance(ts, int | float) or isinstance(ts, bool) or not math.isfinite(ts)
    ):
        raise ProtocolError(f"header 'ts' must be a finite number, got {ts!r}")
    # Most headers carry only known keys; the set comparison runs in C.
    meta = (
        {}
        if header.keys() <= KNOWN_KEYS
        else {k: v for k, v in header.items() if k not in KNOWN_KEYS}
    )
    name = header["msg"]
    captured_at = None if ts is None else float(ts)
    now = time.time() if received_at is None else received_at
    enc = header.get("enc")
    if type(enc) is str and enc in _VIDEO_ENCODINGS:
        packet, width, height = _video(header, enc, payload, limits)
        return Frame(
            name,
            video=packet,
            seq=seq,
            captured_at=captured_at,
            received_at=now,
            width=width,
            height=height,
            meta=meta,
        )
    if "dtype" in header or "shape" in header:
        return Frame(
            name,
            array=decode_array(header, payload),
            seq=seq,
            captured_at=captured_at,
            received_at=now,
            meta=meta,
        )
    declared = (
        _int_field(header, "width", 1, limits.max_dim),
        _int_field(header, "height", 1, limits.max_dim),
    )
    # Always read the JPEG's own header (about 1 us): consumers size buffers from these
    # numbers, so a header that lies about them must not get through.
    size = _jpeg_size_within(payload, limits)
    if declared != (None, None) and declared != size:
        # Only camhub senders declare a size, and only for JPEGs they made.
        found = "not a JPEG camhub decodes" if size is None else f"{size[0]}x{size[1]}"
        raise ProtocolError(f"header says {declared[0]}x{declared[1]} but the JPEG is {found}")
    if size is None:
        return Frame(
            name,
            payload=bytes(payload),
            seq=seq,
            captured_at=captured_at,
            received_at=now,
            meta=meta,
        )
    return Frame(
        name,
        jpeg=bytes(payload),
        seq=seq,
        captured_at=captured_at,
        received_at=now,
        width=size[0],
        height=size[1],
        meta=meta,
    )


def _video(
    header: dict[str, Any], codec: Codec, payload: Buffer, limits: Limits
) -> tuple[VideoPacket, int, int]:
    """The packet a video header describes; its keyframes are checked against their own
    parameter sets (a hub sizes decoders and buffers from ``width``/``height``)."""
    if "dtype" in header or "shape" in header:
        raise ProtocolError(f"a {codec} video frame has no 'dtype' or 'shape'")
    key = header.get("key")
    if type(key) is not int or key not in (0, 1):
        raise ProtocolError(f"video header 'key' must be 0 or 1, got {key!r:.40}")
    width = _int_field(header, "width", 1, limits.max_dim)
    height = _int_field(header, "height", 1, limits.max_dim)
    if width is None or height is None:
        raise ProtocolError(f"a {codec} video frame needs 'width' and 'height' in its header")
    if width * height > limits.max_pixels:
        raise ProtocolError(
            f"video of {width}x{height} pixels is over the limit of {limits.max_pixels}"
        )
    pts = _int_field(header, "pts", -_PTS_RANGE, _PTS_RANGE)
    dts = _int_field(header, "dts", -_PTS_RANGE, _PTS_RANGE)
    if not payload:
        raise ProtocolError(f"{codec} video packet is empty")
    data = bytes(payload)
    if key:
        try:
            keyframe, size = is_keyframe(codec, data), coded_size(codec, data)
        except BitstreamError as exc:
            raise ProtocolError(f"{codec} keyframe is malformed: {exc}") from None
        if not keyframe:
            raise ProtocolError(f"header marks a keyframe but the {codec} packet is not one")
        if size is None:
            raise ProtocolError(
                f"{codec} keyframe carries no picture size (H.264/H.265 keyframes must "
                "bring their parameter sets)"
            )
        if size != (width, height):
            raise ProtocolError(
                f"header says {width}x{height} but the {codec} keyframe is {size[0]}x{size[1]}"
            )
    return VideoPacket(codec, data, bool(key), pts, dts), width, height


def error_reply(reason: str) -> bytes:
    """The single-frame reply a hub sends for a message it could not decode."""
    return ERROR_REPLY_PREFIX + reason.encode("utf-8", "replace")[:200]
