"""Android's IP Webcam app (``ipwebcam://HOST``): its H.264 stream over RTSP where the
app has one (``/h264_ulaw.sdp``, else ``/h264_pcm.sdp``), passed through like any RTSP
camera's; its MJPEG stream (``/video``) for a phone whose app answers no RTSP. The choice
is made once, on the first connection that gets an answer, and then kept: a phone that
is merely off is retried as it was, not demoted to MJPEG.

``?mode=mjpeg`` and ``?mode=rtsp`` pick one without trying (see :mod:`.uri`).
"""

from __future__ import annotations

import logging

from camhub.sources.base import SourceTimeouts
from camhub.sources.httpconn import HTTPGetter
from camhub.sources.mjpeg import read_mjpeg
from camhub.sources.rtsp import RTSPSource
from camhub.sources.rtspclient import RTSPError
from camhub.sources.uri import SourceSpec, ipwebcam_fallbacks

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
