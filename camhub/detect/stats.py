"""What object detection reports about itself: per camera, per worker, in all.

Typed records for ``/api``, ``/metrics`` and the status line; ``as_dict()`` is the JSON
the API has always served. Imports nothing but the shared types, so readers of the
numbers need not load the scheduler.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

from camhub.types import CameraName


@dataclass(frozen=True, slots=True)
class ObjectCounts:
    """Objects in view by label, objects per zone, line crossings per direction."""

    objects: dict[str, int] = field(default_factory=dict)
    zones: dict[str, int] = field(default_factory=dict)
    lines: dict[str, dict[str, int]] = field(default_factory=dict)
    events_started: int = 0

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class CameraDetectionStats:
    """One camera's detection: how often it is looked at, and what that costs."""

    camera: CameraName
    status: str
    """``ok``, or why detection does not run (a worker is being restarted)."""
    detect_fps: float
    """Detector runs per second achieved (over the last few seconds)."""
    detect_fps_target: float
    looks: int
    """Frames looked at (motion checked)."""
    inferences: int
    """Frames (or regions) the detector ran on."""
    full_frame: int
    no_motion: int
    """Looks that ran no detector because nothing moved."""
    skipped: int
    """Frames never looked at (rate limit or busy)."""
    failed: int
    """Looks lost to a crashed or hung worker."""
    inference_ms: float
    queue_wait_ms: float
    in_flight: bool
    counts: ObjectCounts = field(default_factory=ObjectCounts)

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class DetectorWorkerStats:
    """One detector worker (a local process, or a call slot on a Ray actor)."""

    worker: int
    pid: int | None
    state: str
    restarts: int
    inferences: int
    images: int
    avg_ms: float | None
    last_ms: float
    rss_mb: float
    last_error: str | None

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class DetectionStats:
    """The whole of object detection: model, workers, cameras."""

    labels: list[str]
    model_labels: int
    input_size: list[int]
    batch_size: int
    motion_gated: bool
    workers: Sequence[DetectorWorkerStats]
    cameras: list[CameraDetectionStats]

    def as_dict(self) -> dict[str, object]:
        return {
            "labels": list(self.labels),
            "model_labels": self.model_labels,
            "input_size": list(self.input_size),
            "batch_size": self.batch_size,
            "motion_gated": self.motion_gated,
            # A subclass (a Ray actor's) adds its own fields: each writes itself.
            "workers": [w.as_dict() for w in self.workers],
            "cameras": [c.as_dict() for c in self.cameras],
        }
