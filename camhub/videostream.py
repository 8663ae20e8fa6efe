"""A drop-in for ``imutils.video.VideoStream`` that reads any camhub source.

The imagezmq tutorial's client runs unchanged::

    from camhub import VideoStream           # was: from imutils.video import VideoStream
    stream = VideoStream(src=0).start()      # or "ipwebcam://192.168.1.23", "testsrc"...
    while True:
        sender.send_image(name, stream.read())

One difference on purpose: imutils' ``read()`` returns whatever frame it holds, so that
loop sends the same image hundreds of times a second. Here ``read()`` waits (at most
``timeout`` seconds) for a frame newer than the one it returned last, so each camera
frame is sent once.
"""

from __future__ import annotations

from typing import Any

from camhub.sources import SourceTimeout, ThreadedSource, open_source
from camhub.types import Image, SourceStatus


class VideoStream:
    """``VideoStream(src).start()``, ``.read()`` -> BGR numpy array, ``.stop()``.

    ``src`` is anything :func:`camhub.sources.open_source` takes (a webcam index, a URL,
    a file, ``testsrc``); ``usePiCamera=True`` opens the Pi camera with ``resolution``
    and ``framerate``, as imutils does. Extra keywords go to ``open_source``.
    """

    def __init__(
        self,
        src: int | str = 0,
        usePiCamera: bool = False,  # imutils' spelling
        resolution: tuple[int, int] = (320, 240),
        framerate: int = 32,
        *,
        name: str | None = None,
        timeout: float = 10.0,
        **kw: Any,
    ) -> None:
        if usePiCamera:
            kw.setdefault("resolution", tuple(resolution))
            kw.setdefault("fps", framerate)
            src = "picamera"
        self.timeout = timeout
        self.source: ThreadedSource = open_source(src, name, **kw)
        self._last: Image | None = None
        self._fresh = False  # the frame start() fetched has not been read yet

    def start(self) -> VideoStream:
        """Start reading and wait (up to ``timeout``) for the first frame, so that the
        first ``read()`` has one to return."""
        self.source.start()
        self._last = self._next()
        self._fresh = True
        return self

    def read(self) -> Image:
        """The newest frame as a BGR array; never the same frame twice in a row, unless
        no newer one arrives within ``timeout`` seconds (then SourceTimeout)."""
        if self._last is None:
            self.start()
        if self._fresh:
            self._fresh = False
        else:
            self._last = self._next()
        assert self._last is not None
        return self._last

    def _next(self) -> Image:
        try:
            return self.source.read(timeout=self.timeout).image
        except SourceTimeout as exc:
            raise SourceTimeout(f"{exc}; is the camera on and reachable?") from None

    def status(self) -> SourceStatus:
        return self.source.status()

    def stop(self) -> None:
        self.source.stop()

    def __enter__(self) -> VideoStream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
