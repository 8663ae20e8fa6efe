"""A generated scene made of real photographs: people cut from scikit-image's astronaut and
cameraman photos walk across its rocket-launch photo. Gives frames and the true boxes."""

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
from skimage import data

Array = npt.NDArray[np.uint8]
WIDTH, HEIGHT = 640, 480
PERSON_H = 220


def _crop(rgb: npt.NDArray[np.uint8], box: tuple[int, int, int, int]) -> Array:
    x, y, w, h = box
    bgr = (
        cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        if rgb.ndim == 3
        else cv2.cvtColor(rgb, cv2.COLOR_GRAY2BGR)
    )
    part = bgr[y : y + h, x : x + w]
    scale = PERSON_H / h
    return np.ascontiguousarray(cv2.resize(part, (round(w * scale), PERSON_H)))


def astronaut() -> Array:
    return _crop(data.astronaut(), (0, 0, 379, 512))


def cameraman() -> Array:
    return _crop(data.camera(), (5, 55, 322, 457))


def background() -> Array:
    return np.ascontiguousarray(
        cv2.resize(cv2.cvtColor(data.rocket(), cv2.COLOR_RGB2BGR), (WIDTH, HEIGHT))
    )


@dataclass
class Walker:
    image: Array
    x0: float
    x1: float
    t0: float
    t1: float
    y: int = HEIGHT - PERSON_H - 20

    def x_at(self, t: float) -> float | None:
        if not self.t0 <= t <= self.t1:
            return None
        return self.x0 + (self.x1 - self.x0) * (t - self.t0) / (self.t1 - self.t0)


def render(
    walkers: list[Walker], t: float, bg: Array | None = None
) -> tuple[Array, list[tuple[int, int, int, int] | None]]:
    """The frame at time ``t`` (later walkers in front) and each walker's visible box."""
    frame = (background() if bg is None else bg).copy()
    boxes: list[tuple[int, int, int, int] | None] = []
    for w in walkers:
        x = w.x_at(t)
        if x is None:
            boxes.append(None)
            continue
        h, wd = w.image.shape[:2]
        xi = round(x)
        left, right = max(0, xi), min(WIDTH, xi + wd)
        if right <= left:
            boxes.append(None)
            continue
        frame[w.y : w.y + h, left:right] = w.image[:, left - xi : right - xi]
        boxes.append((left, w.y, right - left, h))
    return frame, boxes
