"""The browser camera's WebSocket protocol (``/cam/ws``).

Text messages are JSON objects with a ``type``; binary messages are frames.

==============  ======  =============================================================
message         from    content
==============  ======  =============================================================
``hello``       phone   first message: ``{"type": "hello", "token": DEVICE_TOKEN}``
``welcome``     hub     ``camera`` (the device name), ``max_fps``, ``max_bytes``,
                        ``hub_time`` (s since the epoch)
``refused``     hub     ``reason``; then the hub closes (4401 unknown/missing token,
                        4403 revoked, 1008 policy, 1007 bad frame, 1009 too big)
``ping``        phone   ``t`` (the phone's clock, ms); answered by ``pong`` with ``t``
                        and ``hub`` (hub clock, s) so the phone can stamp frames in the
                        hub's clock and frame age means capture -> hub
frame (binary)  phone   2-byte big-endian header length, a JSON header ``{"seq": int,
                        "ts": capture time in s, hub clock}``, then the JPEG bytes
``ack``         hub     ``seq``, ``age_ms`` (capture -> hub), ``fps`` (camera's rate at
                        the hub): the phone sends its next frame only after this
``drop``        hub     ``seq``, ``reason``: the frame was over the device's frame rate
==============  ======  =============================================================

The hub turns a frame message into the two-part ZeroMQ message the wire format
(:mod:`camhub.protocol`) defines and decodes it with the same function and the same
:class:`~camhub.protocol.Limits`, so a phone's frames pass exactly the checks a ZeroMQ
sender's do (size, JPEG header, declared pixel count, stamps).
"""

from __future__ import annotations

import json

from camhub import protocol
from camhub.protocol import DEFAULT_LIMITS, Limits, ProtocolError
from camhub.types import Frame

_STAMP_KEYS = ("seq", "ts")


def encode_frame(jpeg: bytes, seq: int, captured_at: float) -> bytes:
    """A frame message as the page builds it (used by tests and the benchmark)."""
    head = json.dumps({"seq": seq, "ts": captured_at}, separators=(",", ":")).encode()
    return len(head).to_bytes(2, "big") + head + jpeg


def decode_frame(
    data: bytes, camera: str, limits: Limits = DEFAULT_LIMITS, received_at: float | None = None
) -> Frame:
    """The frame a phone sent, named after its device; ProtocolError when it is not one
    the hub accepts."""
    if len(data) < 2:
        raise ProtocolError("frame message is shorter than its 2-byte header length")
    size = int.from_bytes(data[:2], "big")
    if size > limits.max_header or 2 + size > len(data):
        raise ProtocolError(f"frame header length {size} does not fit the message")
    try:
        head = json.loads(data[2 : 2 + size])
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ProtocolError("frame header is not valid JSON") from None
    if not isinstance(head, dict):
        raise ProtocolError("frame header must be a JSON object")
    # The camera name is the device's, never the client's choice.
    fields = {k: head[k] for k in _STAMP_KEYS if k in head}
    fields["msg"] = camera
    header = json.dumps(fields, separators=(",", ":")).encode()
    payload = memoryview(data)[2 + size :]
    # The page only ever sends JPEG, so anything else is refused here; the ZeroMQ wire
    # would carry it as an opaque frame (imagezmq's send_jpg carries any bytes).
    why = protocol.why_not_a_jpeg(payload, limits)
    if why is not None:
        raise ProtocolError(why)
    return protocol.decode([header, payload], limits, received_at)
