"""Turning video packets into pictures with FFmpeg (PyAV).

:class:`Decoder` is one stream's decoder: packets in decode order in, BGR pictures out
(what OpenCV, motion and detection use, the same as a decoded JPEG), each tagged with
the index its packet was fed with. :func:`decode_group` decodes a group from its
keyframe with a fresh decoder, for a single picture asked for when no decoder runs.

PyAV loads on first use: importing this module costs nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from camhub.errors import VideoError
from camhub.video.packet import Codec, VideoPacket

Image = npt.NDArray[np.generic]
"""As ``camhub.types.Image``; not imported from there, which imports this module lazily."""

_FFMPEG_NAMES: dict[Codec, str] = {"h264": "h264", "hevc": "hevc", "vp8": "vp8", "vp9": "vp9"}


class Decoder:
    """FFmpeg's decoder for one stream of ``codec``. Not thread-safe: one thread feeds it."""

    def __init__(self, codec: Codec) -> None:
        import av

        self._av: Any = av
        self.codec = codec
        ctx: Any = av.CodecContext.create(_FFMPEG_NAMES[codec], "r")
        # One thread, slice-parallel at most: frame threading would hold every picture
        # back by a frame per thread, and a hub runs a decoder per camera.
        ctx.thread_type = "SLICE"
        ctx.thread_count = 1
        self._ctx = ctx
        self.packets = 0
        self.pictures = 0

    def decode(self, packet: VideoPacket, index: int) -> list[tuple[int, Any]]:
        """Feed one packet; returns the pictures it completed as ``(index, av frame)``
        (usually the packet's own; later for streams that reorder). :class:`VideoError`
        when FFmpeg refuses the packet."""
        av = self._av
        pkt = av.Packet(packet.data)
        pkt.pts = index
        try:
            frames = self._ctx.decode(pkt)
        except av.FFmpegError as exc:
            raise VideoError(f"FFmpeg could not decode a {self.codec} packet: {exc}") from None
        self.packets += 1
        self.pictures += len(frames)
        return [(index if f.pts is None else int(f.pts), f) for f in frames]

    def flush(self) -> list[tuple[int, Any]]:
        """The pictures FFmpeg still holds (streams that reorder), at end of stream."""
        try:
            frames = self._ctx.decode(None)
        except self._av.FFmpegError:
            return []
        return [(-1 if f.pts is None else int(f.pts), f) for f in frames]


def to_bgr(picture: Any) -> Image:
    """An FFmpeg picture as a BGR uint8 array (``height x width x 3``)."""
    array: Image = picture.to_ndarray(format="bgr24")
    return array


def decode_group(packets: Sequence[VideoPacket]) -> Image:
    """The picture of the last packet, decoding from the first (a keyframe) with a fresh
    decoder. :class:`VideoError` when FFmpeg gives no picture for it."""
    if not packets or not packets[0].keyframe:
        raise VideoError("decoding needs the packets from a keyframe on")
    decoder = Decoder(packets[0].codec)
    target = len(packets) - 1
    found = None
    for index, packet in enumerate(packets):
        for out, picture in decoder.decode(packet, index):
            if out == target:
                found = picture
    if found is None:
        for out, picture in decoder.flush():
            if out == target:
                found = picture
    if found is None:
        raise VideoError(f"FFmpeg gave no picture for this {packets[0].codec} frame")
    return to_bgr(found)


def decode_alone(packet: VideoPacket) -> Image:
    """The picture of a keyframe, decoded on its own."""
    return decode_group([packet])
