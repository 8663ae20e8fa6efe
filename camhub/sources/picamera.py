"""Raspberry Pi cameras through picamera2 (``picamera``, ``picamera:1``).

picamera2 comes with Raspberry Pi OS (``sudo apt install python3-picamera2``); it is not
on PyPI in a form that works elsewhere, so it is imported only when such a source is
opened, and its absence is reported in plain words.

Opened with ``packets=True`` (``camhub send`` with ``--codec auto|h264``), the camera's
H.264 comes from the Pi's hardware encoder through picamera2 (SPS and PPS repeated before
every keyframe, a keyframe every 2 s), and passes through like an RTSP camera's; where
the Pi has no hardware encoder (a Pi 5) the source gives pictures and the sender encodes
them. This path cannot be tested without a Pi: it is kept as small as picamera2 allows.
"""

from __future__ import annotations

import importlib
import logging
import re
import time
from typing import Any

from camhub.sources.base import FatalSourceError, SourceTimeouts, ThreadedSource
from camhub.sources.registry import OpenOptions, SourceForm, SourceKind, register_source
from camhub.sources.uri import SourceSpec, SourceURIError
from camhub.video.packet import VideoPacket

log = logging.getLogger("camhub.sources")

KEYFRAME_INTERVAL = 2.0
"""Seconds between the hardware encoder's keyframes (as :mod:`camhub.video.encoder`)."""

MISSING = (
    "picamera2 is not installed, so Pi camera sources cannot be used here. On Raspberry Pi "
    "OS run 'sudo apt install python3-picamera2' (and create the venv with "
    "--system-site-packages); elsewhere use a webcam (0), a phone or testsrc instead"
)


def load_picamera2() -> Any:
    """The ``Picamera2`` class, or FatalSourceError explaining how to get it."""
    try:
        module = importlib.import_module("picamera2")
    except ImportError:
        raise FatalSourceError(MISSING) from None
    return module.Picamera2


class PiCameraSource(ThreadedSource):
    kind = "picamera"

    def __init__(
        self,
        spec: SourceSpec,
        name: str,
        resolution: tuple[int, int] = (640, 480),
        fps: float | None = None,
        timeouts: SourceTimeouts | None = None,
        *,
        packets: bool = False,
    ) -> None:
        super().__init__(spec.display, name, timeouts)
        self._picamera2 = load_picamera2()  # fail at once, not in the thread
        self.index = spec.index or 0
        self.resolution = resolution
        self.fps = fps
        self.packets = packets
        """Hand on the hardware encoder's H.264 where the Pi has one."""

    def _stream(self) -> None:
        camera = self._picamera2(self.index)
        try:
            controls: dict[str, Any] = {}
            if self.fps:
                frame_us = int(1e6 / self.fps)
                controls["FrameDurationLimits"] = (frame_us, frame_us)
            # "RGB888" in libcamera's naming is B, G, R in memory: OpenCV's order.
            config = camera.create_video_configuration(
                main={"size": tuple(self.resolution), "format": "RGB888"},
                controls=controls,
                buffer_count=2,
            )
            camera.configure(config)
            if self.packets and self._record(camera):
                return
            camera.start()
            while not self.stopping:
                job = camera.capture_array("main", wait=False)
                image = camera.wait(job, timeout=self.timeouts.read)
                if image is None:
                    raise TimeoutError(f"no image from the Pi camera in {self.timeouts.read:g} s")
                self._emit(array=image)
        finally:
            camera.close()

    def _record(self, camera: Any) -> bool:
        """Stream the hardware encoder's H.264 until stopped; ``False`` when the Pi has no
        hardware encoder (the caller hands on pictures instead)."""
        try:
            encoders = importlib.import_module("picamera2.encoders")
            outputs = importlib.import_module("picamera2.outputs")
            fps = self.fps or 30.0
            encoder = encoders.H264Encoder(
                repeat=True, iperiod=max(1, round(fps * KEYFRAME_INTERVAL))
            )
        except Exception as exc:  # no /dev/video11 (Pi 5), an old picamera2
            log.info("camera %s: no hardware H.264 encoder (%s); sending pictures", self.name, exc)
            self.packets = False
            return False
        source = self

        class _Packets(outputs.Output):  # type: ignore[misc, name-defined]
            def outputframe(
                self,
                frame: bytes,
                keyframe: bool = True,
                timestamp: int | None = None,
                packet: object = None,
                audio: bool = False,
            ) -> None:
                if audio:
                    return
                pts = None if timestamp is None else timestamp * 9 // 100  # us -> 90 kHz
                video = VideoPacket("h264", bytes(frame), bool(keyframe), pts=pts)
                source._emit(video=video, captured_at=time.time())

        camera.start_recording(encoder, _Packets())
        try:
            while not self._stop.wait(0.5):
                pass
        finally:
            camera.stop_recording()
        return True


_FORM = re.compile(r"^picamera2?(?::(\d{1,2}))?$")


def _parse(text: str) -> SourceSpec:
    m = _FORM.match(text)
    if m is None:
        raise SourceURIError(f"bad Pi camera source {text!r}: expected picamera or picamera:N")
    return SourceSpec("picamera", text, text, index=int(m.group(1) or 0))


def _open(spec: SourceSpec, name: str, options: OpenOptions) -> PiCameraSource:
    return PiCameraSource(
        spec,
        name,
        options.resolution or (640, 480),
        options.fps,
        options.timeouts,
        packets=options.packets,
    )


register_source(
    SourceKind(
        "picamera",
        _open,
        _parse,
        words=("picamera",),
        forms=(
            SourceForm("picamera[:N]", "picamera[:N]", "Raspberry Pi camera (needs picamera2)"),
        ),
        name_of=lambda spec: f"picamera{spec.index or 0}",
    )
)
