"""Camera sources: :func:`open_source` turns any source string into a running camera.

Every source reads in its own thread (started on the first ``start()`` or ``read()``),
keeps only the newest frame, times out every open and read, reconnects with backoff,
and reports :class:`camhub.types.SourceStatus`. One module per kind:

=============  =====================================================  ============
kind           source strings                                         module
=============  =====================================================  ============
rtsp           ``rtsp://``, ``rtsps://``, ``ipwebcam://H?mode=rtsp``  ``rtsp``
ipwebcam       ``ipwebcam://H`` (RTSP H.264, else MJPEG)              ``ipwebcam``
mjpeg          ``http(s)://...``, ``http://H:8080``,                  ``mjpeg``
               ``ipwebcam://H?mode=mjpeg``, ``droidcam://H``
snapshot       ``http(s)://.../shot.jpg``, ``ipwebcam://H?mode=snapshot``  ``snapshot``
webcam         ``0``, ``1``, ``/dev/video0``                          ``webcam``
file           ``clip.mp4``, ``file:///path/clip.mp4``                ``file``
testsrc        ``testsrc``, ``testsrc:640x480@30``                    ``testsrc``
picamera       ``picamera``, ``picamera:1``                           ``picamera``
=============  =====================================================  ============
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from camhub.sources.base import (
    FatalSourceError,
    SourceTimeout,
    SourceTimeouts,
    ThreadedSource,
)
from camhub.sources.uri import SourceSpec, SourceURIError, parse_source, redact

__all__ = [
    "FatalSourceError",
    "SourceSpec",
    "SourceTimeout",
    "SourceTimeouts",
    "SourceURIError",
    "ThreadedSource",
    "default_name",
    "open_source",
    "parse_source",
    "redact",
]


def default_name(spec: SourceSpec) -> str:
    """A camera name derived from the source: host name, file stem, ``webcam0``..."""
    if spec.kind in ("rtsp", "ipwebcam", "mjpeg", "snapshot"):
        return urlsplit(spec.url).hostname or spec.kind
    if spec.kind == "file":
        return os.path.splitext(os.path.basename(spec.url))[0] or "file"
    if spec.kind == "webcam":
        return f"webcam{spec.index or 0}"
    if spec.kind == "picamera":
        return f"picamera{spec.index or 0}"
    return spec.kind


def open_source(
    uri: str | int,
    name: str | None = None,
    *,
    open_timeout: float = 5.0,
    read_timeout: float = 5.0,
    retry_max: float = 1.0,
    rate: float = 5.0,
    loop: bool = False,
    resolution: tuple[int, int] | None = None,
    fps: float | None = None,
    verify_tls: bool = True,
    packets: bool = False,
) -> ThreadedSource:
    """Open a camera from a source string; the reader starts on first ``start``/``read``.

    ``name`` defaults to one derived from the source. ``rate`` is the snapshot polling
    rate (per second); ``loop`` replays video files; ``resolution``/``fps`` are asked of
    webcams and Pi cameras. ``packets``: an RTSP camera or a video file whose codec
    camhub passes through (H.264, H.265; VP8, VP9 files), and a Pi camera with a hardware
    encoder, hand on their own coded packets (``Frame.video``) instead of decoded
    pictures; other sources ignore it. Raises :class:`SourceURIError` at once for a malformed or
    unknown source, and :class:`camhub.types.SourceError` for a missing file or library.
    """
    spec = parse_source(uri)
    name = name if name is not None else default_name(spec)
    if not name or len(name) > 256:
        raise SourceURIError(f"camera name must be 1..256 characters, got {name!r}")
    timeouts = SourceTimeouts(
        open=open_timeout, read=read_timeout, retry_min=min(0.25, retry_max), retry_max=retry_max
    )
    if spec.kind == "ipwebcam":
        from camhub.sources.ipwebcam import IPWebcamSource

        return IPWebcamSource(spec, name, timeouts, packets=packets, verify_tls=verify_tls)
    if spec.kind == "rtsp":
        from camhub.sources.rtsp import RTSPSource

        # rtsps: the certificate is not checked (cameras use self-signed ones), as
        # FFmpeg did not check it either.
        return RTSPSource(spec, name, timeouts, packets=packets)
    if spec.kind == "mjpeg":
        from camhub.sources.mjpeg import MJPEGSource

        return MJPEGSource(spec, name, timeouts, verify_tls=verify_tls)
    if spec.kind == "snapshot":
        from camhub.sources.snapshot import SnapshotSource

        return SnapshotSource(spec, name, rate, timeouts, verify_tls=verify_tls)
    if spec.kind == "webcam":
        from camhub.sources.webcam import WebcamSource

        return WebcamSource(spec, name, resolution, fps, timeouts)
    if spec.kind == "file":
        from camhub.sources.file import FileSource

        if not os.path.isfile(spec.url):
            raise FatalSourceError(f"video file {spec.url!r} does not exist")
        return FileSource(spec, name, loop, timeouts, packets=packets)
    if spec.kind == "picamera":
        from camhub.sources.picamera import PiCameraSource

        return PiCameraSource(spec, name, resolution or (640, 480), fps, timeouts, packets=packets)
    from camhub.sources.testsrc import TestPatternSource

    return TestPatternSource(spec, name, timeouts)
