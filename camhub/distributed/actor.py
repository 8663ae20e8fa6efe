"""The detector actor: one loaded model in one Ray worker process, anywhere in the cluster.

It takes looks (:class:`~camhub.distributed.looks.RemoteLook`: the camera's own JPEG and
the region to look at; a 640x480 frame is ~40 KB, against 900 KB decoded, so the network
carries the small form), crops and fits each to its model, and returns one
:class:`~camhub.detect.Box` list per look, in frame pixels, plus how long it took. The
model is loaded and warmed up (one inference) before the actor answers its first call, so
a cold first inference is never taken for a hung actor. The bridge wraps this plain class
with ``ray.remote``; it imports nothing of Ray at module level, so the local fallback runs
it without Ray.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from typing import Any

from camhub.detect.base import Box
from camhub.detect.spec import DetectorSpec
from camhub.distributed.looks import RemoteLook, open_look


def _rss() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class DetectorActor:
    def __init__(self, spec: DetectorSpec) -> None:
        started = time.perf_counter()
        # Loaded and warmed up here: Ray runs no call on the actor before this returns.
        self.detector = spec.build()
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
            "fill": d.fill,
            "rss": _rss(),
        }

    def detect(self, looks: list[RemoteLook]) -> tuple[list[list[Box]], float, int]:
        """Boxes per look in frame pixels, decode + fit + inference ms, and this process's
        memory."""
        started = time.perf_counter()
        d = self.detector
        opened = [open_look(look, d) for look in looks]
        found = d.infer([model_input for model_input, _ in opened])
        boxes = [where.to_frame(f, d.labels) for (_, where), f in zip(opened, found, strict=True)]
        return boxes, (time.perf_counter() - started) * 1000, _rss()
