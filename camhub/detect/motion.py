"""Cheap motion detection that decides when, and where, the detector runs (as Frigate does).

It works on a small grey copy of the frame (a JPEG is decoded straight to about 160 px
wide by libjpeg-turbo's DCT scaling, which costs well under a millisecond), compares it
with a running average of the scene and returns the box around what changed, grown by a
margin so that a moving person is seen whole. No motion: no detection.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
import simplejpeg

from camhub.types import Frame

Region = tuple[int, int, int, int]


def small_grey(frame: Frame, width: int) -> npt.NDArray[np.uint8]:
    if frame.jpeg is not None and frame.array is None:
        try:
            out = simplejpeg.decode_jpeg(
                frame.jpeg, colorspace="GRAY", min_width=width, min_height=1
            )[:, :, 0]
            if out.shape[1] <= width * 2:
                return np.asarray(out, dtype=np.uint8)
            image = out
        except ValueError:
            image = np.asarray(frame.image, dtype=np.uint8)
    else:
        image = np.asarray(frame.image, dtype=np.uint8)
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    h, w = image.shape[:2]
    return np.asarray(
        cv2.resize(image, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA),
        dtype=np.uint8,
    )


@dataclass(slots=True)
class MotionResult:
    region: Region | None
    """Where to look, in frame pixels (``None``: nothing moved)."""
    fraction: float
    """Share of the picture that changed."""


class MotionGate:
    def __init__(
        self,
        *,
        work_width: int = 160,
        threshold: int = 20,
        min_fraction: float = 0.002,
        learn_rate: float = 0.4,
        margin: float = 0.5,
        min_region: int = 224,
    ) -> None:
        self.work_width = work_width
        self.threshold = threshold
        self.min_fraction = min_fraction
        self.learn_rate = learn_rate
        self.margin = margin
        self.min_region = min_region
        self._background: npt.NDArray[np.float32] | None = None
        self._kernel = np.ones((3, 3), np.uint8)

    def check(self, frame: Frame) -> MotionResult:
        grey = small_grey(frame, self.work_width)
        blurred = cv2.GaussianBlur(grey, (5, 5), 0).astype(np.float32)
        if self._background is None or self._background.shape != blurred.shape:
            self._background = blurred
            # A camera's first look is all news: detect on the whole picture once.
            return MotionResult(self._full(frame), 1.0)
        diff = cv2.absdiff(blurred, self._background)
        cv2.accumulateWeighted(blurred, self._background, self.learn_rate)
        mask = (diff > self.threshold).astype(np.uint8)
        mask = np.asarray(cv2.dilate(mask, self._kernel, iterations=2), dtype=np.uint8)
        fraction = float(mask.mean())
        if fraction < self.min_fraction:
            return MotionResult(None, fraction)
        ys, xs = np.nonzero(mask)
        sh, sw = mask.shape
        fw, fh = frame.width or sw, frame.height or sh
        sx, sy = fw / sw, fh / sh
        x0, x1 = xs.min() * sx, (xs.max() + 1) * sx
        y0, y1 = ys.min() * sy, (ys.max() + 1) * sy
        return MotionResult(self._grow((x0, y0, x1, y1), fw, fh), fraction)

    def _full(self, frame: Frame) -> Region:
        return (0, 0, int(frame.width or 0), int(frame.height or 0))

    def _grow(self, box: tuple[float, float, float, float], fw: int, fh: int) -> Region:
        x0, y0, x1, y1 = box
        w, h = x1 - x0, y1 - y0
        # Motion often shows only part of a person (a moving arm): look around it.
        w2 = max(w * (1 + 2 * self.margin), self.min_region)
        h2 = max(h * (1 + 2 * self.margin), self.min_region)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        left = int(max(0, min(cx - w2 / 2, fw - w2)))
        top = int(max(0, min(cy - h2 / 2, fh - h2)))
        right = int(min(fw, left + w2))
        bottom = int(min(fh, top + h2))
        return (left, top, right - left, bottom - top)
