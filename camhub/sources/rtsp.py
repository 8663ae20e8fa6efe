"""RTSP and RTSPS cameras (IP Webcam's ``/h264_ulaw.sdp``, IP cameras, NVRs) decoded with
PyAV (FFmpeg) over TCP, tuned for the lowest delay rather than the smoothest playback."""

from __future__ import annotations

from typing import Any

from camhub.sources.base import SourceTimeouts, ThreadedSource
from camhub.sources.uri import SourceSpec

# TCP: Wi-Fi loses UDP packets, and a smeared H.264 frame is worse than a late one.
# nobuffer/low_delay: hand each frame on as soon as it is decoded instead of smoothing.
LOW_DELAY_OPTIONS = {
    "rtsp_transport": "tcp",
    "fflags": "nobuffer",
    "flags": "low_delay",
    "max_delay": "500000",
    "reorder_queue_size": "0",
    "analyzeduration": "1000000",
    "probesize": "500000",
}


class RTSPSource(ThreadedSource):
    kind = "rtsp"

    def __init__(self, spec: SourceSpec, name: str, timeouts: SourceTimeouts | None = None) -> None:
        super().__init__(spec.display, name, timeouts, spec.secrets())
        self.url = spec.url

    def _stream(self) -> None:
        import av

        options = dict(LOW_DELAY_OPTIONS)
        # FFmpeg's own socket timeout, in microseconds, backs up PyAV's interrupt timer.
        options["timeout"] = str(int(self.timeouts.read * 1e6))
        try:
            container: Any = av.open(
                self.url, options=options, timeout=(self.timeouts.open, self.timeouts.read)
            )
        except av.error.ExitError:
            raise TimeoutError(
                f"{self.display} did not answer within {self.timeouts.open:g} s"
            ) from None
        try:
            if not container.streams.video:
                raise OSError(f"{self.display} has no video stream")
            stream = container.streams.video[0]
            stream.codec_context.flags |= av.codec.context.Flags.low_delay
            try:
                for packet in container.demux(stream):
                    for frame in packet.decode():
                        self._emit(array=frame.to_ndarray(format="bgr24"))
                    if self.stopping:
                        return
            except av.error.ExitError:
                raise TimeoutError(f"no data for {self.timeouts.read:g} s") from None
        finally:
            container.close()
