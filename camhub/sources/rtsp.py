"""RTSP and RTSPS cameras (IP Webcam's ``/h264_ulaw.sdp``, IP cameras, NVRs), read over
TCP with camhub's own RTSP client (:mod:`camhub.sources.rtspclient`).

H.264 and H.265 pass through untouched: each access unit is handed on the moment its
last RTP packet arrives (the marker bit), in Annex B form, with the parameter sets the
camera announced in its SDP put in front of keyframes that come without them. The
capture time is the camera's own: the RTP timestamp mapped to wall clock through the
camera's RTCP sender reports, or the arrival time until the first report (and for a
camera whose clock is far off). Opened with ``packets=False`` (the default for
:func:`camhub.sources.open_source`), the source decodes each access unit itself and
hands on pictures instead.

A camera whose video is another codec (MJPEG or MPEG-4 over RTSP) is decoded by
FFmpeg (PyAV), tuned for the lowest delay.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from camhub.sources.base import SourceTimeouts, ThreadedSource
from camhub.sources.registry import OpenOptions, SourceForm, SourceKind, register_source
from camhub.sources.rtspclient import RTSPClient, Track
from camhub.sources.uri import SourceSpec, host_name, network_spec, split_url, url_scheme
from camhub.video.packet import (
    TIME_BASE,
    BitstreamError,
    Codec,
    VideoPacket,
    annexb,
    coded_size,
    parameter_sets,
    with_parameter_sets,
)
from camhub.video.pictures import PictureDecoder
from camhub.video.rtp import (
    AccessUnit,
    Depacketizer,
    RtpClock,
    RtpError,
    parse_rtp,
    sender_reports,
)

log = logging.getLogger("camhub.sources")

CLOCK_AHEAD = 0.5
"""A sender report's time may run ahead of our clock by this much (two machines' clocks)
and still be trusted; the capture time is then clamped to the arrival time."""
CLOCK_BEHIND = 30.0
"""A picture older than this on arrival means the camera's clock is off, not the network
slow: its sender reports are ignored and the arrival time is used."""

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

    def __init__(
        self,
        spec: SourceSpec,
        name: str,
        timeouts: SourceTimeouts | None = None,
        *,
        packets: bool = False,
        verify_tls: bool = False,
    ) -> None:
        super().__init__(spec.display, name, timeouts, spec.secrets())
        self.url = spec.url
        self.packets = packets
        """Hand on the camera's own packets (else decoded pictures)."""
        self.verify_tls = verify_tls
        self._client: RTSPClient | None = None
        self.damaged = 0
        """Access units lost or cut (a packet missing, or one before them in their group)."""
        self.sessions = 0
        """RTSP sessions that started playing."""
        self._timeline = _Timeline()
        self.clock_source = "arrival"
        """Where capture times come from: ``camera`` (RTCP sender reports) or ``arrival``."""

    def _interrupt(self) -> None:
        client = self._client
        if client is not None:
            client.interrupt()

    def _stream(self) -> None:
        client = RTSPClient(
            self.url,
            open_timeout=self.timeouts.open,
            read_timeout=self.timeouts.read,
            verify_tls=self.verify_tls,
        )
        self._client = client
        try:
            track = client.open()
            self.sessions += 1
            codec = track.media.codec
            if codec is None:
                client.close()
                log.info(
                    "camera %s sends %s video: decoding it with FFmpeg",
                    self.name,
                    track.media.encoding or "unknown",
                )
                return self._ffmpeg_stream()
            self._play(client, track)
        finally:
            self._client = None
            client.close()

    def _play(self, client: RTSPClient, track: Track) -> None:
        media = track.media
        codec = media.codec
        assert codec is not None
        depacketizer = Depacketizer(codec)
        clock = RtpClock(media.clock_rate)
        timeline = self._timeline
        timeline.restart(media.clock_rate)
        sets = media.parameter_sets()
        size = _size(codec, sets)
        pictures = None if self.packets else PictureDecoder()
        ssrc: int | None = None
        while not self.stopping:
            channel, data = client.read()
            try:
                if channel == track.rtcp_channel:
                    for report in sender_reports(data):
                        if ssrc is None or report.ssrc == ssrc:
                            clock.update(report)
                    continue
                if channel != track.rtp_channel:
                    continue
                packet = parse_rtp(data)
            except RtpError as exc:
                log.debug("camera %s: skipped a packet: %s", self.name, exc)
                continue
            if packet.payload_type != media.payload_type:
                continue
            ssrc = packet.ssrc
            units = depacketizer.push(packet)
            arrival = time.time() if units else 0.0
            for unit in units:
                if not unit.complete:
                    self.damaged += 1
                    if pictures is not None:
                        pictures.reset()
                    continue
                payload = unit.data
                if unit.keyframe:
                    # Keep the newest parameter sets; put them in front where missing.
                    sets = parameter_sets(codec, payload) or sets
                    size = _size(codec, sets) or size
                    payload = with_parameter_sets(codec, payload, sets)
                video = VideoPacket(codec, payload, unit.keyframe, pts=timeline.pts(unit.timestamp))
                captured = self._capture_time(clock, unit, arrival)
                if pictures is None:
                    width, height = size or (None, None)
                    self._emit(video=video, captured_at=captured, width=width, height=height)
                elif (image := pictures.decode(video)) is not None:
                    self._emit(array=image, captured_at=captured)

    def _capture_time(self, clock: RtpClock, unit: AccessUnit, arrival: float) -> float:
        wall = clock.wall(unit.timestamp)
        if wall is None:
            return arrival
        late = arrival - wall
        if -CLOCK_AHEAD <= late <= CLOCK_BEHIND:
            if self.clock_source != "camera":
                self.clock_source = "camera"
                log.debug("camera %s: capture times from its RTCP sender reports", self.name)
            return min(wall, arrival)
        if self.clock_source != "arrival (camera clock off)":
            self.clock_source = "arrival (camera clock off)"
            log.info(
                "camera %s: its clock is %.1f s %s ours; frame ages count from arrival",
                self.name,
                abs(late),
                "behind" if late > 0 else "ahead of",
            )
        return arrival

    def _ffmpeg_stream(self) -> None:
        """Decode a codec camhub does not pass through (MJPEG, MPEG-4) with FFmpeg."""
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


class _Timeline:
    """RTP timestamps as a 90 kHz presentation time from 0 that keeps counting through
    the 32-bit wrap, and across reconnects (a new session's RTP clock starts anywhere:
    it continues from the last time, plus the wall-clock time the camera was away)."""

    def __init__(self) -> None:
        self.rate = TIME_BASE
        self._last: int | None = None
        self._ticks = 0
        self._pts = -1
        self._base = 0
        """The presentation time of the session's first timestamp."""
        self._left_at: float | None = None

    def restart(self, rate: int) -> None:
        """A new session (``rate``: its RTP clock's ticks per second)."""
        self.rate = rate
        if self._last is not None:
            self._left_at = time.monotonic()
        self._last = None
        self._ticks = 0

    def pts(self, timestamp: int) -> int:
        if self._last is not None:
            step = (timestamp - self._last) & 0xFFFFFFFF
            self._ticks += step - 0x100000000 if step >= 0x80000000 else step
        elif self._left_at is not None:  # the first timestamp after a reconnect
            away = round((time.monotonic() - self._left_at) * TIME_BASE)
            self._base = self._pts + max(1, away)
            self._left_at = None
        self._last = timestamp
        self._pts = self._base + self._ticks * TIME_BASE // self.rate
        return self._pts


def _size(codec: Codec, sets: list[bytes]) -> tuple[int, int] | None:
    """The picture size the parameter sets declare, if they say."""
    try:
        return coded_size(codec, annexb(sets)) if sets else None
    except BitstreamError:
        return None


def _parse(text: str) -> SourceSpec:
    return network_spec("rtsp", split_url(text, url_scheme(text)))


def _open(spec: SourceSpec, name: str, options: OpenOptions) -> RTSPSource:
    # rtsps: the certificate is not checked (cameras use self-signed ones), as FFmpeg
    # did not check it either.
    return RTSPSource(spec, name, options.timeouts, packets=options.packets)


register_source(
    SourceKind(
        "rtsp",
        _open,
        _parse,
        schemes=("rtsp", "rtsps"),
        forms=(
            SourceForm(
                "rtsp://[USER:PASS@]HOST[:PORT]/PATH",
                "rtsp://HOST[:PORT]/PATH",
                "RTSP/RTSPS camera (its H.264/H.265 passed through)",
            ),
        ),
        name_of=host_name,
    )
)
