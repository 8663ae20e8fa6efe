"""Prometheus families for frame processors: per processor and camera."""

from __future__ import annotations

from collections.abc import Sequence

from camhub.metrics import Exposition
from camhub.processing.runner import ProcessorRunner


def collect(out: Exposition, runners: Sequence[ProcessorRunner]) -> None:
    workers = [
        (ws, [("processor", r.name), ("camera", ws.camera)]) for r in runners for ws in r.stats()
    ]
    out.counter(
        "camhub_processor_frames_total",
        "Frames a processor finished.",
        [(labels, ws.processed) for ws, labels in workers],
    )
    out.counter(
        "camhub_processor_skipped_total",
        "Frames a processor had no time for (newer ones had arrived).",
        [(labels, ws.skipped) for ws, labels in workers],
    )
    out.counter(
        "camhub_processor_errors_total",
        "Frames on which a processor raised.",
        [(labels, ws.errors) for ws, labels in workers],
    )
    out.gauge(
        "camhub_processor_last_seconds",
        "Time the latest process() call took.",
        [(labels, ws.last_ms / 1000) for ws, labels in workers],
    )
