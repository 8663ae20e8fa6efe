"""Pictures from one camera's packets, in the thread that reads them: what a sender uses
while its hub takes no video (it sends JPEG), and what a source opened for pictures uses.

:class:`PictureDecoder` decodes every packet it is given, in order, and returns the
picture each one completes. After a gap (the caller says so: a queue dropped the rest of
a group) or a packet FFmpeg refuses, it waits for the next keyframe instead of
decoding from a broken reference, and counts what it skipped.
"""

from __future__ import annotations

from camhub.types import Image, VideoError
from camhub.video.decoder import Decoder, to_bgr
from camhub.video.packet import Codec, VideoPacket


class PictureDecoder:
    """Decodes one camera's video frames to BGR pictures. Not thread-safe."""

    def __init__(self) -> None:
        self._decoder: Decoder | None = None
        self._codec: Codec | None = None
        self._index = 0
        self._need_key = True
        self.skipped = 0
        """Frames not decoded because a frame they depend on was missing."""
        self.errors = 0
        """Packets FFmpeg could not decode."""

    def reset(self) -> None:
        """The packets that follow do not continue the stream: wait for a keyframe."""
        self._need_key = True

    def decode(self, packet: VideoPacket, *, gap: bool = False) -> Image | None:
        """The picture ``packet`` completes (``None``: skipped, or FFmpeg holds it back).
        ``gap``: packets before this one were dropped."""
        if gap or packet.codec != self._codec:
            self._need_key = True
        if self._need_key and not packet.keyframe:
            self.skipped += 1
            return None
        if self._decoder is None or packet.codec != self._codec:
            self._decoder = Decoder(packet.codec)
            self._codec = packet.codec
        self._need_key = False
        self._index += 1
        try:
            pictures = self._decoder.decode(packet, self._index)
        except VideoError:
            self.errors += 1
            self._need_key = True
            return None
        return to_bgr(pictures[-1][1]) if pictures else None
