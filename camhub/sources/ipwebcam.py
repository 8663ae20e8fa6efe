"""Android's IP Webcam app (``ipwebcam://HOST``): its H.264 stream over RTSP where the
app has one (``/h264_ulaw.sdp``, else ``/h264_pcm.sdp``), passed through like any RTSP
camera's; its MJPEG stream (``/video``) for a phone whose app answers no RTSP. The choice
is made once, on the first connection that gets an answer, and then kept: a phone that
is merely off is retried as it was, not demoted to MJPEG.

``?mode=mjpeg`` and ``?mode=rtsp`` pick one without trying, ``?mode=snapshot`` polls its
``/shot.jpg``: those are plain MJPEG, RTSP and snapshot cameras.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from urllib.parse import SplitResult, parse_qs, urlsplit, urlunsplit

from camhub.sources.base import SourceTimeouts
from camhub.sources.httpconn import HTTPGetter
from camhub.sources.mjpeg import IPWEBCAM_PORT, read_mjpeg
from camhub.sources.registry import OpenOptions, SourceForm, SourceKind, register_source
from camhub.sources.rtsp import RTSPSource
from camhub.sources.rtspclient import RTSPError
from camhub.sources.uri import (
    SourceSpec,
    SourceURIError,
    host_name,
    netloc,
    network_spec,
    redact,
    split_url,
)

log = logging.getLogger("camhub.sources")


class IPWebcamSource(RTSPSource):
    kind = "ipwebcam"
    own_jpeg = True  # its JPEGs (MJPEG mode) are the phone's own

    def __init__(
        self,
        spec: SourceSpec,
        name: str,
        timeouts: SourceTimeouts | None = None,
        *,
        packets: bool = False,
        verify_tls: bool = True,
    ) -> None:
        super().__init__(spec, name, timeouts, packets=packets)
        self._rtsp, mjpeg = ipwebcam_fallbacks(spec)
        self._secrets.update(mjpeg.secrets())
        self.mjpeg_display = mjpeg.display
        self._http = HTTPGetter(mjpeg, self.timeouts.open, self.timeouts.read, verify_tls)
        self.mode = "auto"
        """``auto`` until a stream answered, then ``rtsp`` or ``mjpeg`` for good."""
        self._played = self._rtsp[0]

    def _interrupt(self) -> None:
        super()._interrupt()
        self._http.close()

    def _stream(self) -> None:
        if self.mode == "mjpeg":
            return self._stream_mjpeg()
        refusals: list[str] = []
        for spec in self._rtsp if self.mode == "auto" else [self._played]:
            self.url = spec.url
            try:
                super()._stream()  # returns or raises once it played: no more trying
                return
            except RTSPError as exc:
                if self.mode != "auto" or self.sessions:
                    raise  # it played before: a passing problem, not a missing stream
                refusals.append(str(exc))
            finally:
                if self.sessions and self.mode == "auto":
                    self.mode, self._played = "rtsp", spec
        self.mode = "mjpeg"
        log.info(
            "camera %s: the app serves no H.264 over RTSP (%s); reading its MJPEG stream %s",
            self.name,
            "; ".join(refusals),
            self.mjpeg_display,
        )
        self._stream_mjpeg()

    def _stream_mjpeg(self) -> None:
        try:
            read_mjpeg(self._http.get(), self.mjpeg_display, self._emit, lambda: self.stopping)
        finally:
            self._http.close()


IPWEBCAM_RTSP_PATHS = ("/h264_ulaw.sdp", "/h264_pcm.sdp")
"""Where IP Webcam serves H.264 over RTSP (on its HTTP port), with u-law or PCM audio."""


def _parse(text: str) -> SourceSpec:
    parts = split_url(text, "ipwebcam")
    mode = {k: v[-1] for k, v in parse_qs(parts.query).items()}.get("mode", "auto").lower()
    port = parts.port or IPWEBCAM_PORT
    if mode == "auto":
        # The app's H.264 stream where it has one (the source falls back to MJPEG).
        rtsp = parts._replace(scheme="rtsp", path=IPWEBCAM_RTSP_PATHS[0], query="")
        spec = network_spec("ipwebcam", rtsp, port)
        shown = parts._replace(path="", query="", netloc=netloc(parts, redacted=True, port=port))
        return replace(spec, display=urlunsplit(shown), params={})
    if mode == "mjpeg":
        return network_spec("mjpeg", parts._replace(scheme="http", path="/video", query=""), port)
    if mode == "snapshot":
        shot = parts._replace(scheme="http", path="/shot.jpg", query="")
        return network_spec("snapshot", shot, port)
    if mode in ("rtsp", "h264"):
        # IP Webcam serves H.264 over RTSP on its HTTP port.
        rtsp = parts._replace(scheme="rtsp", path="/h264_ulaw.sdp", query="")
        return network_spec("rtsp", rtsp, port)
    raise SourceURIError(
        f"bad ipwebcam mode {mode!r} in {redact(parts.geturl())!r}: "
        "expected ?mode=auto (default: H.264 over RTSP, else MJPEG), ?mode=rtsp, "
        "?mode=mjpeg or ?mode=snapshot"
    )


def ipwebcam_fallbacks(spec: SourceSpec) -> tuple[list[SourceSpec], SourceSpec]:
    """For an ``ipwebcam://`` camera in auto mode: the app's RTSP streams to try in
    turn, and its MJPEG stream for a phone that has none."""
    parts: SplitResult = urlsplit(spec.url)
    rtsp = [network_spec("rtsp", parts._replace(path=path)) for path in IPWEBCAM_RTSP_PATHS]
    mjpeg = network_spec("mjpeg", parts._replace(scheme="http", path="/video"))
    return rtsp, mjpeg


def _open(spec: SourceSpec, name: str, options: OpenOptions) -> IPWebcamSource:
    return IPWebcamSource(
        spec, name, options.timeouts, packets=options.packets, verify_tls=options.verify_tls
    )


register_source(
    SourceKind(
        "ipwebcam",
        _open,
        _parse,
        schemes=("ipwebcam",),
        forms=(
            SourceForm(
                "ipwebcam://HOST[:PORT][?mode=mjpeg]",
                "ipwebcam://HOST[:PORT]",
                "IP Webcam app: its H.264 over RTSP, else MJPEG",
            ),
        ),
        name_of=host_name,
    )
)
