"""Raspberry Pi cameras through picamera2 (``picamera``, ``picamera:1``).

picamera2 comes with Raspberry Pi OS (``sudo apt install python3-picamera2``); it is not
on PyPI in a form that works elsewhere, so it is imported only when such a source is
opened, and its absence is reported in plain words.
"""

from __future__ import annotations

import importlib
from typing import Any

from camhub.sources.base import FatalSourceError, SourceTimeouts, ThreadedSource
from camhub.sources.uri import SourceSpec

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
    ) -> None:
        super().__init__(spec.display, name, timeouts)
        self._picamera2 = load_picamera2()  # fail at once, not in the thread
        self.index = spec.index or 0
        self.resolution = resolution
        self.fps = fps

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
            camera.start()
            while not self.stopping:
                job = camera.capture_array("main", wait=False)
                image = camera.wait(job, timeout=self.timeouts.read)
                if image is None:
                    raise TimeoutError(f"no image from the Pi camera in {self.timeouts.read:g} s")
                self._emit(array=image)
        finally:
            camera.close()
