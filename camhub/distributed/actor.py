"""The detector actor: one loaded model in one Ray worker process, anywhere in the cluster.

It takes JPEG bytes (a 640x480 frame is ~40 KB, against 900 KB decoded, so the network
carries the small form) and returns :class:`~camhub.detect.Box` lists plus how long it took.
The bridge wraps this plain class with ``ray.remote``; it never imports Ray at module level
so it can be unit-tested and imported without a cluster.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from typing import Any

from camhub.detect.base import Box, create_detector


class DetectorActor:
    def __init__(self, type_name: str, options: dict[str, Any], threads: int = 1) -> None:
        import cv2

        import camhub.detect  # noqa: F401  (registers the built-in detectors)

        # The actor reserved `threads` CPUs from Ray; OpenCV would otherwise use every
        # core of the node and fight the other actors on it.
        cv2.setNumThreads(max(1, threads))
        started = time.perf_counter()
        self.detector = create_detector(type_name, **options)
        self.detector.load()
        self.load_ms = (time.perf_counter() - started) * 1000
        self.frames = 0
        self.infer_ms_total = 0.0

    def info(self) -> dict[str, Any]:
        """Where this actor runs (after a restart: the new place)."""
        node_id = "local"  # the fallback runs actors as threads of the bridge, without Ray
        if "ray" in sys.modules:
            node_id = sys.modules["ray"].get_runtime_context().get_node_id()
        return {
            "node_id": node_id,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "load_ms": round(self.load_ms, 1),
            "labels": len(self.detector.labels),
            "input_size": list(self.detector.input_size),
        }

    def detect(self, jpeg: bytes) -> tuple[list[Box], float]:
        """Boxes found in one JPEG frame, and the decode + inference time in ms."""
        from camhub.jpeg import decode_jpeg

        started = time.perf_counter()
        image = decode_jpeg(jpeg)
        boxes = self.detector.detect([image])[0]
        ms = (time.perf_counter() - started) * 1000
        self.frames += 1
        self.infer_ms_total += ms
        return boxes, ms
