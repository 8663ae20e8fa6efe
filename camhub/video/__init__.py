"""Compressed video in camhub: the packet model and bitstream facts (:mod:`.packet`)."""

from camhub.video.packet import CODECS, TIME_BASE, BitstreamError, Codec, VideoPacket

__all__ = ["CODECS", "TIME_BASE", "BitstreamError", "Codec", "VideoPacket"]
