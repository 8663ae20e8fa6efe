"""Frames for recorder tests: a bounded queue with the FrameSubscription interface, and
camera-like JPEGs whose timestamps the test chooses."""

from __future__ import annotations

import threading
from collections import deque

import numpy as np

import camhub
from camhub.types import Frame


class FrameQueue:
    """Bounded, drops the oldest and counts, like ``CameraStore.subscribe``'s queue."""

    def __init__(self, maxsize: int = 64) -> None:
        self.maxsize = maxsize
        self._items: deque[Frame] = deque()
        self._cond = threading.Condition()
        self.dropped = 0
        self.closed = False

    def put(self, frame: Frame) -> None:
        with self._cond:
            if len(self._items) >= self.maxsize:
                self._items.popleft()
                self.dropped += 1
            self._items.append(frame)
            self._cond.notify()

    def get(self, timeout: float | None = None) -> Frame | None:
        with self._cond:
            if not self._cond.wait_for(lambda: self._items or self.closed, timeout):
                return None
            return self._items.popleft() if self._items else None

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


def jpeg_at(i: int, size: tuple[int, int] = (160, 120)) -> bytes:
    w, h = size
    img = np.full((h, w, 3), 40, np.uint8)
    img[10:30, (i * 7) % (w - 20) : (i * 7) % (w - 20) + 20] = 230
    return camhub.encode_jpeg(img, quality=70)


def frame(camera: str, at: float, i: int = 0) -> Frame:
    return Frame(camera, jpeg=jpeg_at(i), received_at=at, width=160, height=120)
