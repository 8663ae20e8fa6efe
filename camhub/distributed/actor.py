"""The detector actor: one loaded model in one Ray worker process, anywhere in the cluster.

It takes JPEG bytes (a 640x480 frame is ~40 KB, against 900 KB decoded, so the network
carries the small form) and returns one :class:`~camhub.detect.Box` list per image plus how
long it took. The bridge wraps this plain class with ``ray.remote``; it imports nothing of
Ray at module level, so the local fallback runs it without Ray.
"""

from __future__ import annotations

import importlib
import os
import socket
import sys
import time
from typing import Any

from camhub.detect.base import Box
from camhub.detect.pool import DetectorSpec


def _rss() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class DetectorActor:
    def __init__(self, spec: DetectorSpec) -> None:
        import cv2

        # The actor reserved `threads` CPUs; OpenCV would otherwise use every core of the
        # node and fight the other actors there.
        cv2.setNumThreads(spec.threads)
        for module in spec.modules:
            importlib.import_module(module)
        from camhub.detect import create_detector

        options = dict(spec.options)
        if spec.type_name == "onnx":
            options.setdefault("threads", spec.threads)
        started = time.perf_counter()
        self.detector = create_detector(spec.type_name, **options)
        self.detector.load()
        self.load_ms = (time.perf_counter() - started) * 1000

    def info(self) -> dict[str, Any]:
        """Where this actor runs (after a restart: the new place) and what it detects."""
        node_id = "local"  # the fallback runs actors as threads of the bridge, without Ray
        if "ray" in sys.modules:
            node_id = sys.modules["ray"].get_runtime_context().get_node_id()
        d = self.detector
        return {
            "node_id": node_id,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            # Which incarnation answers: a restarted actor is a new object (and, on Ray,
            # usually a new process; in the local fallback the same one).
            "instance": f"{os.getpid()}-{id(self)}",
            "load_ms": round(self.load_ms, 1),
            "labels": list(d.labels),
            "input_size": tuple(d.input_size),
            "batch_size": d.batch_size,
            "rss": _rss(),
        }

    def detect(self, jpegs: list[bytes]) -> tuple[list[list[Box]], float, int]:
        """Boxes per JPEG image, decode + inference ms, and this process's memory."""
        from camhub.jpeg import decode_jpeg

        started = time.perf_counter()
        images = [decode_jpeg(j) for j in jpegs]
        boxes = self.detector.detect(images)
        return boxes, (time.perf_counter() - started) * 1000, _rss()
