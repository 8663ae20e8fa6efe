"""Video files played back at their own frame rate, as if a camera were filming them,
optionally looping forever (handy for demos and for testing processors).

With ``packets=True`` an H.264, H.265, VP8 or VP9 file passes through as it is coded:
each packet is demuxed (never decoded), H.264/H.265 converted to Annex B with the
parameter sets in front of every keyframe, and released at its decode time. Timestamps
keep counting up across loops. Other codecs, and ``packets=False``, give decoded
pictures.
"""

from __future__ import annotations

import os
import time
from fractions import Fraction
from pathlib import PurePath
from typing import Any
from urllib.parse import unquote, urlsplit

from camhub.sources.base import FatalSourceError, SourceTimeouts, ThreadedSource
from camhub.sources.registry import (
    OpenOptions,
    SourceForm,
    SourceKind,
    register_source,
    unknown_source,
)
from camhub.sources.uri import SourceSpec, SourceURIError
from camhub.video.packet import (
    TIME_BASE,
    BitstreamError,
    Codec,
    VideoPacket,
    coded_size,
    is_keyframe,
    parameter_sets,
    with_parameter_sets,
)

FFMPEG_CODECS: dict[str, Codec] = {"h264": "h264", "hevc": "hevc", "vp8": "vp8", "vp9": "vp9"}
"""FFmpeg's codec names of the codecs a file passes through."""
VIDEO_SUFFIXES = frozenset(
    {".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v", ".mjpeg", ".mjpg", ".h264", ".ts", ".flv"}
)
"""A string ending so is taken for a video file even without a directory in it."""


class FileSource(ThreadedSource):
    kind = "file"
    reconnects_after_end = False

    def __init__(
        self,
        spec: SourceSpec,
        name: str,
        loop: bool = False,
        timeouts: SourceTimeouts | None = None,
        *,
        packets: bool = False,
    ) -> None:
        super().__init__(spec.display, name, timeouts)
        self.path = spec.url
        self.loop = loop
        self.packets = packets
        """Hand on the file's own packets where its codec allows (else pictures)."""

    def _stream(self) -> None:
        import av

        if not os.path.isfile(self.path):
            raise FatalSourceError(f"video file {self.path!r} does not exist")
        try:
            container: Any = av.open(self.path, timeout=self.timeouts.open)
        except (av.error.FFmpegError, OSError) as exc:
            raise FatalSourceError(f"cannot open video file {self.path!r}: {exc}") from None
        try:
            if not container.streams.video:
                raise FatalSourceError(f"{self.path!r} has no video stream")
            stream = container.streams.video[0]
            codec = FFMPEG_CODECS.get(stream.codec_context.name) if self.packets else None
            player = _Player(self, stream, codec)
            while not self.stopping:
                player.play(container)
                if not self.loop or self.stopping:
                    return
                container.seek(0, stream=stream)
                player.rewind()
        finally:
            container.close()


class _Player:
    """Releases one file's packets (or pictures) at their time, pass after pass."""

    def __init__(self, source: FileSource, stream: Any, codec: Codec | None) -> None:
        import av.bitstream

        self.source = source
        self.stream = stream
        self.codec = codec
        self.time_base = stream.time_base or Fraction(1, TIME_BASE)
        rate = float(stream.average_rate or 25)
        self.frame_ticks = max(1, round(1 / (rate * self.time_base)))
        self.filter: Any = None
        if codec in ("h264", "hevc"):
            self.filter = av.bitstream.BitStreamFilterContext(f"{codec}_mp4toannexb", stream)
        self.sets: list[bytes] = []
        self.size: tuple[int, int] | None = None
        self.offset = 0
        """Ticks added to the file's timestamps so that they keep rising across loops."""
        self.first: int | None = None
        """The first and last timestamps of this pass through the file."""
        self.last = 0
        self.anchor: tuple[float, int] | None = None
        """(monotonic time, timestamp) that the release times count from."""

    def rewind(self) -> None:
        """The file starts again: its timestamps continue one frame after the last."""
        if self.first is not None:
            self.offset += self.last + self.frame_ticks - self.first
        self.first = None
        if self.filter is not None:
            self.filter.flush()

    def play(self, container: Any) -> None:
        """One pass through the file: packets at their decode time, or pictures at
        their presentation time."""
        if self.codec is None:
            for frame in container.decode(self.stream):
                if not self._wait_for(self._due(frame.pts)):
                    return
                self.source._emit(array=frame.to_ndarray(format="bgr24"))
            return
        for packet in container.demux(self.stream):
            if packet.size == 0:  # the demuxer's end-of-stream marker
                continue
            if not self._wait_for(self._due(packet.dts if packet.dts is not None else packet.pts)):
                return
            for out in self.filter.filter(packet) if self.filter is not None else [packet]:
                self._emit_packet(out)

    def _due(self, ts: int | None) -> int:
        """The release time of a packet or picture stamped ``ts``, counting across loops."""
        ts = self.last + self.frame_ticks if ts is None else int(ts)
        if self.first is None:
            self.first = self.last = ts
        self.last = max(self.last, ts)
        return ts + self.offset

    def _wait_for(self, ts: int) -> bool:
        """Sleep until ``ts`` (counting across loops) is due; ``False`` if the source
        stops meanwhile."""
        if self.anchor is None:
            self.anchor = (time.monotonic(), ts)
        start_wall, start_ts = self.anchor
        delay = start_wall + float((ts - start_ts) * self.time_base) - time.monotonic()
        if delay > 0 and self.source._stop.wait(delay):
            return False
        if delay < -1.0:  # fell behind (slow machine): re-anchor instead of racing
            self.anchor = (time.monotonic(), ts)
        return True

    def _emit_packet(self, packet: Any) -> None:
        codec = self.codec
        assert codec is not None
        data = bytes(packet)
        if not data:
            return
        key = is_keyframe(codec, data)
        if key and codec in ("h264", "hevc"):
            self.sets = parameter_sets(codec, data) or self.sets
            data = with_parameter_sets(codec, data, self.sets)
        if key:
            try:
                self.size = coded_size(codec, data) or self.size
            except BitstreamError:
                pass
        pts = self._ticks(packet.pts)
        dts = self._ticks(packet.dts)
        video = VideoPacket(codec, data, key, pts=pts, dts=dts if dts != pts else None)
        width, height = self.size or (None, None)
        self.source._emit(video=video, width=width, height=height)

    def _ticks(self, ts: int | None) -> int | None:
        if ts is None:
            return None
        return int((int(ts) + self.offset) * self.time_base * TIME_BASE)


def _parse_url(text: str) -> SourceSpec:
    path = unquote(urlsplit(text).path)
    if not path:
        raise SourceURIError(f"malformed file URL {text!r}: no path")
    return _parse_path(path, text)


def _parse_path(path: str, text: str | None = None) -> SourceSpec:
    text = path if text is None else text
    if "\x00" in path:
        raise SourceURIError("file path contains a NUL byte")
    looks_like_path = "/" in path or "\\" in path or PurePath(path).suffix.lower() in VIDEO_SUFFIXES
    if not looks_like_path:
        raise unknown_source(text)
    return SourceSpec("file", path, text)


def _open(spec: SourceSpec, name: str, options: OpenOptions) -> FileSource:
    if not os.path.isfile(spec.url):
        raise FatalSourceError(f"video file {spec.url!r} does not exist")
    return FileSource(spec, name, options.loop, options.timeouts, packets=options.packets)


def _stem(spec: SourceSpec) -> str:
    return os.path.splitext(os.path.basename(spec.url))[0] or "file"


register_source(
    SourceKind(
        "file",
        _open,
        _parse_url,
        schemes=("file",),
        fallback=_parse_path,
        forms=(
            SourceForm(
                "clip.mp4",
                "a video file path",
                "a video file in real time, its H.264 passed through (--loop to repeat)",
            ),
        ),
        name_of=_stem,
    )
)
