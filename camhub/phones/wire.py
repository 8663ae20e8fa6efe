"""The browser camera's WebSocket protocol (``/cam/ws``).

Text messages are JSON objects with a ``type``; binary messages are frames.

==============  ======  =============================================================
message         from    content
==============  ======  =============================================================
``hello``       phone   first message: ``{"type": "hello", "token": DEVICE_TOKEN}``
``welcome``     hub     ``camera`` (the device name), ``max_fps``, ``max_bytes``,
                        ``hub_time`` (s since the epoch), ``video`` (the codecs the
                        hub takes: ``["h264", "hevc", "vp8", "vp9"]``; a hub that
                        leaves it out takes JPEG only)
``refused``     hub     ``reason``; then the hub closes (4401 unknown/missing token,
                        4403 revoked, 1008 policy, 1007 bad frame, 1009 too big)
``ping``        phone   ``t`` (the phone's clock, ms); answered by ``pong`` with ``t``
                        and ``hub`` (hub clock, s) so the phone can stamp frames in the
                        hub's clock and frame age means capture -> hub
frame (binary)  phone   2-byte big-endian header length, a JSON header ``{"seq": int,
                        "ts": capture time in s, hub clock}``, then the JPEG bytes;
                        or a video chunk (below)
``ack``         hub     ``seq``, ``age_ms`` (capture -> hub), ``fps`` (camera's rate at
                        the hub): the phone sends its next frame only after this
``drop``        hub     ``seq``, ``reason``: the frame was over the device's frame rate
                        (a phone sending video starts again at a keyframe)
==============  ======  =============================================================

A video chunk (one WebCodecs ``EncodedVideoChunk``, one access unit) has the header
``{"seq", "ts", "enc": codec, "key": 0|1, "width", "height", "pts"}``, the same fields
with the same meaning as on the ZeroMQ wire: H.264 in Annex B with SPS and PPS in front
of every keyframe, ``pts`` in 90 kHz ticks. ``seq`` counts every chunk the encoder made,
sent or not, so the hub sees a chunk the phone dropped as a gap and never decodes the
rest of that group. The phone sends a delta chunk only when every chunk since its
keyframe went out: after a drop it waits for the next keyframe and asks its encoder for
one at once.

The hub turns a frame message into the two-part ZeroMQ message the wire format
(:mod:`camhub.protocol`) defines and decodes it with the same function and the same
:class:`~camhub.protocol.Limits`, so a phone's frames pass exactly the checks a ZeroMQ
sender's do (size, JPEG header, declared pixel count, stamps).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from camhub import protocol
from camhub.protocol import DEFAULT_LIMITS, Limits, ProtocolError
from camhub.types import Frame
from camhub.video.packet import CODECS, Codec, VideoPacket

_STAMP_KEYS = ("seq", "ts")
_VIDEO_KEYS = ("seq", "ts", "enc", "key", "width", "height", "pts")
PHONE_CODECS: tuple[Codec, ...] = CODECS
"""The codecs a hub takes from phones (its ``welcome`` lists them): every codec the hub
decodes and records; the page encodes H.264, VP8 or VP9, whichever its browser has."""


def encode_frame(jpeg: bytes, seq: int, captured_at: float) -> bytes:
    """A frame message as the page builds it (used by tests and the benchmark)."""
    return _message({"seq": seq, "ts": captured_at}, jpeg)


def encode_chunk(
    packet: VideoPacket, seq: int, captured_at: float, width: int, height: int
) -> bytes:
    """A video chunk message as the page builds it (used by tests and the benchmark)."""
    head: dict[str, Any] = {"seq": seq, "ts": captured_at, "enc": packet.codec}
    head.update(key=int(packet.keyframe), width=width, height=height)
    if packet.pts is not None:
        head["pts"] = packet.pts
    return _message(head, packet.data)


def _message(head: dict[str, Any], payload: bytes) -> bytes:
    raw = json.dumps(head, separators=(",", ":")).encode()
    return len(raw).to_bytes(2, "big") + raw + payload


def decode_frame(
    data: bytes,
    camera: str,
    limits: Limits = DEFAULT_LIMITS,
    received_at: float | None = None,
    video: Collection[Codec] = PHONE_CODECS,
) -> Frame:
    """The frame a phone sent, named after its device; ProtocolError when it is not one
    the hub accepts (a JPEG, or a chunk of one of the ``video`` codecs)."""
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
    enc = head.get("enc", "jpeg")
    video_chunk = enc != "jpeg"
    if video_chunk and enc not in video:
        takes = ", ".join(["jpeg", *video])
        raise ProtocolError(f"frame encoding {enc!r:.40} is not one this hub takes ({takes})")
    # The camera name is the device's, never the client's choice.
    keys = _VIDEO_KEYS if video_chunk else _STAMP_KEYS
    fields = {k: head[k] for k in keys if k in head}
    fields["msg"] = camera
    header = json.dumps(fields, separators=(",", ":")).encode()
    payload = memoryview(data)[2 + size :]
    if video_chunk:
        # The ZeroMQ wire's own checks: key flag, size, keyframe against its SPS.
        return protocol.decode([header, payload], limits, received_at)
    # The page only ever sends JPEG, so anything else is refused here; the ZeroMQ wire
    # would carry it as an opaque frame (imagezmq's send_jpg carries any bytes).
    why = protocol.why_not_a_jpeg(payload, limits)
    if why is not None:
        raise ProtocolError(why)
    return protocol.decode([header, payload], limits, received_at)
