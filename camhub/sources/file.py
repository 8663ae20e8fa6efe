"""Video files played back at their own frame rate, as if a camera were filming them,
optionally looping forever (handy for demos and for testing processors)."""

from __future__ import annotations

import os
import time
from typing import Any

from camhub.sources.base import FatalSourceError, SourceTimeouts, ThreadedSource
from camhub.sources.uri import SourceSpec


class FileSource(ThreadedSource):
    kind = "file"
    reconnects_after_end = False

    def __init__(
        self,
        spec: SourceSpec,
        name: str,
        loop: bool = False,
        timeouts: SourceTimeouts | None = None,
    ) -> None:
        super().__init__(spec.display, name, timeouts)
        self.path = spec.url
        self.loop = loop

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
            while not self.stopping:
                self._play_once(container, stream)
                if not self.loop or self.stopping:
                    return
                container.seek(0, stream=stream)
        finally:
            container.close()

    def _play_once(self, container: Any, stream: Any) -> None:
        """Decode every frame, releasing each at its presentation time."""
        start_wall: float | None = None
        start_pts = 0.0
        last_pts = -1.0
        fallback = 1.0 / float(stream.average_rate or 25)
        for frame in container.decode(stream):
            pts = float(frame.time) if frame.time is not None else last_pts + fallback
            if start_wall is None:
                start_wall, start_pts = time.monotonic(), pts
            delay = start_wall + (pts - start_pts) - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            if delay < -1.0:  # fell behind (slow machine): re-anchor instead of racing
                start_wall, start_pts = time.monotonic(), pts
            last_pts = pts
            self._emit(array=frame.to_ndarray(format="bgr24"))
