"""Camera sources: :func:`open_source` turns any source string into a running camera.

Every source reads in its own thread (started on the first ``start()`` or ``read()``),
keeps only the newest frame, times out every open and read, reconnects with backoff,
and reports :class:`camhub.types.SourceStatus`. One module per kind, each registering
itself with :func:`register_source` (:mod:`.registry` derives parsing, help texts and
errors from the registered kinds):

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

from camhub.sources.base import (
    FatalSourceError,
    SourceTimeout,
    SourceTimeouts,
    ThreadedSource,
)
from camhub.sources.registry import (
    OpenOptions,
    SourceForm,
    SourceKind,
    default_name,
    open_spec,
    parse_source,
    register_source,
    source_kinds,
)
from camhub.sources.uri import SourceSpec, SourceURIError, redact

__all__ = [
    "FatalSourceError",
    "OpenOptions",
    "SourceForm",
    "SourceKind",
    "SourceSpec",
    "SourceTimeout",
    "SourceTimeouts",
    "SourceURIError",
    "ThreadedSource",
    "default_name",
    "open_source",
    "parse_source",
    "redact",
    "register_source",
    "source_kinds",
]


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
    options = OpenOptions(timeouts, rate, loop, resolution, fps, verify_tls, packets)
    return open_spec(spec, name, options)
