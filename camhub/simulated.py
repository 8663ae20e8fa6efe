"""Simulated cameras for ``camhub demo`` and benchmarks: each is a thread that sends a
short loop of pre-encoded test-pattern JPEGs (a moving ball over a coloured background)
to a hub at a steady rate, so a demo costs almost no CPU.

A stand-in until ``camhub.sources`` (``testsrc:``) is merged; then the demo switches to it.
"""

from __future__ import annotations

import colorsys
import logging
import threading
import time

import cv2
import numpy as np

from camhub.jpeg import encode_jpeg
from camhub.sender import Sender
from camhub.types import CameraName

log = logging.getLogger("camhub.simulated")


def test_pattern(
    name: str, size: tuple[int, int], frames: int, index: int = 0, quality: int = 80
) -> list[bytes]:
    """``frames`` JPEGs of a ball circling over a background whose hue depends on ``index``."""
    width, height = size
    r, g, b = colorsys.hsv_to_rgb((index * 0.17) % 1.0, 0.55, 0.55)
    ramp = np.linspace(0.55, 1.0, width, dtype=np.float32)[None, :, None]
    base = (np.array([b, g, r], np.float32)[None, None, :] * 255 * ramp).astype(np.uint8)
    background = np.repeat(base, height, axis=0)
    step = max(16, width // 10)
    background[::step, :] //= 2
    background[:, ::step] //= 2
    cv2.putText(
        background,
        name[:32],
        (12, height - 40),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.8,
        (255, 255, 255),
        2,
        cv2.LINE_AA,
    )
    radius = max(6, min(width, height) // 10)
    out = []
    for i in range(frames):
        image = background.copy()
        angle = 2 * np.pi * i / frames
        cx = int(width / 2 + (width / 2 - 2 * radius) * np.cos(angle))
        cy = int(height / 2 + (height / 2 - 2 * radius) * np.sin(2 * angle) / 1.5)
        cv2.circle(image, (cx, cy), radius, (250, 250, 250), -1, cv2.LINE_AA)
        cv2.putText(
            image,
            f"frame {i + 1}/{frames}",
            (12, height - 14),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.6,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
        out.append(encode_jpeg(image, quality=quality))
    return out


class SimulatedCamera:
    """A thread that streams ``test_pattern`` frames to ``hub_address`` at ``fps``."""

    def __init__(
        self,
        hub_address: str,
        name: CameraName,
        *,
        size: tuple[int, int] = (640, 480),
        fps: float = 15.0,
        index: int = 0,
        loop_frames: int = 60,
    ) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.hub_address = hub_address
        self.name = name
        self.size = size
        self.fps = fps
        self.index = index
        self.loop_frames = loop_frames
        self.sent = 0
        self._offset = index * 7  # cameras out of step, like real ones
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"camhub-sim-{name}"[:60], daemon=True
        )

    def start(self) -> SimulatedCamera:
        self._thread.start()
        return self

    def _run(self) -> None:
        frames = test_pattern(self.name, self.size, self.loop_frames, self.index)
        width, height = self.size
        sender = Sender(self.hub_address, window=2, timeout=2.0)
        interval = 1.0 / self.fps
        next_at = time.monotonic()
        try:
            while not self._stop.is_set():
                jpeg = frames[(self.sent + self._offset) % len(frames)]
                if sender.send_jpeg(self.name, jpeg, width=width, height=height):
                    self.sent += 1
                next_at += interval
                delay = next_at - time.monotonic()
                if delay < -1.0:  # fell far behind (machine busy): do not burst to catch up
                    next_at = time.monotonic()
                elif delay > 0:
                    self._stop.wait(delay)
        finally:
            sender.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
