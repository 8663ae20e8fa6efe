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
=========  ==========================================================================

A header with ``dtype`` and ``shape`` carries a raw C-contiguous array whose byte length
must equal ``prod(shape) * itemsize``; a header without them carries JPEG bytes.
imagezmq peers send only ``msg`` (plus ``dtype``/``shape``) and ignore keys they do not
know, so both directions interoperate. Unknown keys are kept in ``Frame.meta``.

In REQ/REP mode the hub answers every message with one frame, ``b"OK"`` by default.
camhub hubs answer a message they cannot decode with ``b"ERR <reason>"`` so that the
sender is never left waiting. Senders that pipeline (camhub's DEALER sockets) prefix the
two frames with an empty delimiter frame, exactly as a REQ socket does on the wire, so
an imagezmq REP hub serves them too.

Decoding validates everything and raises :class:`ProtocolError` on bad input.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from camhub.jpeg import MAX_JPEG_PIXELS, JpegError, jpeg_size
from camhub.types import CamhubError, Frame, Image

DEFAULT_REPLY = b"OK"
ERROR_REPLY_PREFIX = b"ERR "
KNOWN_KEYS = frozenset({"msg", "dtype", "shape", "seq", "ts", "enc", "width", "height"})
ALLOWED_DTYPES = frozenset(
    {"uint8", "int8", "uint16", "int16", "uint32", "int32", "float16", "float32", "float64", "bool"}
)

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
    max_pixels: int = MAX_JPEG_PIXELS
    """Largest width x height a JPEG may declare (refused before anything decodes it)."""
    max_name: int = 256


DEFAULT_LIMITS = Limits()


_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"))
"""Built once: ``json.dumps`` with non-default separators builds an encoder per call."""


def _header(name: str, fields: dict[str, Any]) -> bytes:
    fields["msg"] = name
    return _COMPACT_JSON.encode(fields).encode()


def _stamp(seq: int | None, captured_at: float | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if seq is not None:
        out["seq"] = seq
    if captured_at is not None:
        out["ts"] = captured_at
    return out


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
    fields = _stamp(seq, captured_at)
    if seq is not None or captured_at is not None:
        fields["enc"] = "jpeg"
    if width is not None and height is not None:
        fields["width"], fields["height"] = width, height
    return [_header(name, fields), jpeg]


def encode_array(
    name: str, array: Image, *, seq: int | None = None, captured_at: float | None = None
) -> list[Buffer]:
    """The two frames for a raw array (what imagezmq's ``send_image`` sends, plus stamps)."""
    arr = np.ascontiguousarray(array)
    fields = {"dtype": str(arr.dtype), "shape": list(arr.shape), **_stamp(seq, captured_at)}
    if seq is not None or captured_at is not None:
        fields["enc"] = "raw"
    return [_header(name, fields), memoryview(arr).cast("B")]  # type: ignore[arg-type]


def encode_frame(frame: Frame) -> list[Buffer]:
    """The two frames for a :class:`Frame`, JPEG if it has JPEG bytes, else raw."""
    if frame.jpeg is not None:
        return encode_jpeg(
            frame.name,
            frame.jpeg,
            seq=frame.seq,
            captured_at=frame.captured_at,
            width=frame.width,
            height=frame.height,
        )
    assert frame.array is not None
    return encode_array(frame.name, frame.array, seq=frame.seq, captured_at=frame.captured_at)


def _int_field(header: dict[str, Any], key: str, lo: int, hi: int) -> int | None:
    value = header.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise ProtocolError(f"header '{key}' must be an integer in {lo}..{hi}, got {value!r}")
    return value


def parse_header(raw: Buffer, limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    """Parse and check frame 0; returns the JSON object."""
    if len(raw) > limits.max_header:
        raise ProtocolError(f"header is {len(raw)} bytes, over the limit of {limits.max_header}")
    try:
        header = json.loads(bytes(raw))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"header is not valid JSON: {exc}") from None
    except RecursionError:  # e.g. 16 KB of '[': must not escape as a non-ProtocolError
        raise ProtocolError("header JSON is nested too deeply") from None
    if not isinstance(header, dict):
        raise ProtocolError(f"header must be a JSON object, got {type(header).__name__}")
    name = header.get("msg")
    if not isinstance(name, str) or not name:
        raise ProtocolError("header has no 'msg' (camera name) string")
    if len(name) > limits.max_name:
        raise ProtocolError(f"camera name is {len(name)} characters, over {limits.max_name}")
    if _UNPRINTABLE.search(name):
        # Control characters forge log lines; lone surrogates break every UTF-8 consumer.
        raise ProtocolError(f"camera name {name!r} contains control or invalid characters")
    return header


def _decode_array(header: dict[str, Any], payload: Buffer, limits: Limits) -> Image:
    dtype_name = header.get("dtype")
    shape = header.get("shape")
    if not isinstance(dtype_name, str) or dtype_name not in ALLOWED_DTYPES:
        raise ProtocolError(f"unsupported dtype {dtype_name!r}")
    if (
        not isinstance(shape, list)
        or not 1 <= len(shape) <= 4
        or not all(isinstance(d, int) and not isinstance(d, bool) for d in shape)
    ):
        raise ProtocolError(f"shape must be a list of 1 to 4 integers, got {shape!r}")
    if not all(1 <= d <= limits.max_dim for d in shape):
        raise ProtocolError(f"shape {shape} has a dimension outside 1..{limits.max_dim}")
    dtype = np.dtype(str(dtype_name))
    expected = math.prod(shape) * dtype.itemsize
    if expected != len(payload):
        raise ProtocolError(
            f"dtype {dtype_name} and shape {shape} need {expected} bytes, payload has {len(payload)}"
        )
    return np.frombuffer(payload, dtype=dtype).reshape(shape)


def decode(
    parts: Sequence[Buffer],
    limits: Limits = DEFAULT_LIMITS,
    received_at: float | None = None,
) -> Frame:
    """Turn the two frames of one message into a :class:`Frame`, or raise ProtocolError.

    JPEG payloads have their header read and their size checked against ``limits``,
    but are not decoded; the returned frame decodes on first use of ``frame.image``.
    """
    if len(parts) != 2:
        raise ProtocolError(f"expected 2 message frames (JSON header, payload), got {len(parts)}")
    header = parse_header(parts[0], limits)
    payload = parts[1]
    if len(payload) > limits.max_payload:
        raise ProtocolError(
            f"payload is {len(payload)} bytes, over the limit of {limits.max_payload}"
        )
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
    if "dtype" in header or "shape" in header:
        return Frame(
            name,
            array=_decode_array(header, payload, limits),
            seq=seq,
            captured_at=captured_at,
            received_at=now,
            meta=meta,
        )
    if len(payload) == 0:
        raise ProtocolError("JPEG payload is empty")
    declared = (
        _int_field(header, "width", 1, limits.max_dim),
        _int_field(header, "height", 1, limits.max_dim),
    )
    try:
        # Always read the JPEG's own header (about 1 us): consumers size buffers from
        # these numbers, so a header that lies about them must not get through.
        width, height = jpeg_size(payload)
    except JpegError as exc:
        raise ProtocolError(str(exc)) from None
    if declared != (None, None) and declared != (width, height):
        raise ProtocolError(
            f"header says {declared[0]}x{declared[1]} but the JPEG is {width}x{height}"
        )
    if width > limits.max_dim or height > limits.max_dim or width * height > limits.max_pixels:
        raise ProtocolError(
            f"JPEG declares {width}x{height} pixels, over the limits ({limits.max_dim} per "
            f"side, {limits.max_pixels} in all)"
        )
    return Frame(
        name,
        jpeg=bytes(payload),
        seq=seq,
        captured_at=captured_at,
        received_at=now,
        width=width,
        height=height,
        meta=meta,
    )


def error_reply(reason: str) -> bytes:
    """The single-frame reply a hub sends for a message it could not decode."""
    return ERROR_REPLY_PREFIX + reason.encode("utf-8", "replace")[:200]
