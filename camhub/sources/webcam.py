"""Local webcams (``0``, ``1``, ``/dev/video0``) through OpenCV's capture backends.

OpenCV's ``read()`` can block for a long time when a USB camera is pulled out; it runs
in this source's reader thread, so the consumer's ``read(timeout)`` still returns on
time, and the source reopens the device once it is back.
"""

from __future__ import annotations

import re
from typing import Any

from camhub.sources.base import SourceTimeouts, ThreadedSource
from camhub.sources.registry import OpenOptions, SourceForm, SourceKind, register_source
from camhub.sources.uri import SourceSpec, SourceURIError

_INDEX = re.compile(r"^-?[0-9]+$")
_DEV_VIDEO = re.compile(r"^/dev/video(\d{1,3})$")


class WebcamSource(ThreadedSource):
    kind = "webcam"

    def __init__(
        self,
        spec: SourceSpec,
        name: str,
        resolution: tuple[int, int] | None = None,
        fps: float | None = None,
        timeouts: SourceTimeouts | None = None,
        device: int | str | None = None,
    ) -> None:
        super().__init__(spec.display, name, timeouts)
        # An index for "0", "1"...; the path as given for /dev/videoN. ``device`` takes any
        # other OpenCV capture target (a GStreamer pipeline string, for instance).
        if device is not None:
            self.device: int | str = device
        elif spec.url.isdigit() and spec.index is not None:
            self.device = spec.index
        else:
            self.device = spec.url
        self.resolution = resolution
        self.fps = fps

    def _stream(self) -> None:
        import cv2

        # OpenCV prints "[ WARN:0@0.4] global cap_v4l.cpp ... can't open camera" to stderr
        # on every failed open, tearing through camhub send's status lines; camhub reports
        # the failure itself (below), once per outage.
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(self.timeouts.open * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(self.timeouts.read * 1000),
        ]  # fmt: skip
        cap: Any = cv2.VideoCapture(self.device, cv2.CAP_ANY, params)
        try:
            if not cap.isOpened():
                raise OSError(f"cannot open webcam {self.display} (no such device, or busy)")
            if self.resolution is not None:
                cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.resolution[0])
                cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.resolution[1])
            if self.fps is not None:
                cap.set(cv2.CAP_PROP_FPS, self.fps)
            # Keep the driver's queue short so that a late read gets a recent image.
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
            while not self.stopping:
                ok, image = cap.read()
                if not ok or image is None:
                    raise OSError(f"webcam {self.display} stopped delivering images")
                self._emit(array=image)
        finally:
            cap.release()


def _claims(text: str) -> bool:
    return _INDEX.match(text) is not None or _DEV_VIDEO.match(text) is not None


def _parse(text: str) -> SourceSpec:
    if (m := _DEV_VIDEO.match(text)) is not None:
        return SourceSpec("webcam", text, text, index=int(m.group(1)))
    index = int(text)
    if not 0 <= index <= 63:
        raise SourceURIError(f"webcam index must be 0..63, got {index}")
    return SourceSpec("webcam", text, text, index=index)


def _open(spec: SourceSpec, name: str, options: OpenOptions) -> WebcamSource:
    return WebcamSource(spec, name, options.resolution, options.fps, options.timeouts)


register_source(
    SourceKind(
        "webcam",
        _open,
        _parse,
        claims=_claims,
        forms=(
            SourceForm(
                "0, 1, /dev/video0", "a webcam index (0, 1) or /dev/videoN", "local webcams"
            ),
        ),
        name_of=lambda spec: f"webcam{spec.index or 0}",
    )
)
