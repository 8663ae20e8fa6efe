"""Prometheus families for object detection: per camera and per worker process."""

from __future__ import annotations

from camhub.detect.scheduler import FAILED, ObjectDetection
from camhub.metrics import Exposition, Sample


def collect(out: Exposition, det: ObjectDetection) -> None:
    cams = det.camera_stats()
    workers = det.pool.stats()
    per_camera = [(c, [("camera", c.camera)]) for c in cams]
    per_worker = [(w, [("worker", str(w.worker))]) for w in workers]

    out.gauge(
        "camhub_detect_failed",
        "1 while the camera's detector worker is being restarted.",
        [(labels, c.status == FAILED) for c, labels in per_camera],
    )
    out.gauge(
        "camhub_detect_fps",
        "Detector runs per second achieved.",
        [(labels, c.detect_fps) for c, labels in per_camera],
    )
    out.counter(
        "camhub_detect_looks_total",
        "Frames looked at (motion checked).",
        [(labels, c.looks) for c, labels in per_camera],
    )
    out.counter(
        "camhub_detect_inferences_total",
        "Frames (or regions) the detector ran on.",
        [(labels, c.inferences) for c, labels in per_camera],
    )
    out.counter(
        "camhub_detect_no_motion_total",
        "Looks skipped because nothing moved.",
        [(labels, c.no_motion) for c, labels in per_camera],
    )
    out.counter(
        "camhub_detect_skipped_total",
        "Frames never looked at (rate limit or busy).",
        [(labels, c.skipped) for c, labels in per_camera],
    )
    out.counter(
        "camhub_detect_failed_total",
        "Looks lost to a crashed or hung worker.",
        [(labels, c.failed) for c, labels in per_camera],
    )
    out.gauge(
        "camhub_detect_inference_ms",
        "Latest inference time per image.",
        [(labels, c.inference_ms) for c, labels in per_camera],
    )
    out.gauge(
        "camhub_detect_queue_wait_ms",
        "Frame arrival to dispatch.",
        [(labels, c.queue_wait_ms) for c, labels in per_camera],
    )
    objects: list[Sample] = [
        ([("camera", c.camera), ("label", label)], n)
        for c in cams
        for label, n in c.counts.objects.items()
    ]
    out.gauge("camhub_detect_objects", "Objects tracked now.", objects)
    crossings: list[Sample] = [
        ([("camera", c.camera), ("line", line), ("direction", direction)], n)
        for c in cams
        for line, directions in c.counts.lines.items()
        for direction, n in directions.items()
    ]
    out.counter(
        "camhub_detect_line_crossings_total", "Objects that crossed a counting line.", crossings
    )
    out.counter(
        "camhub_detect_worker_restarts_total",
        "Worker restarts after a crash or hang.",
        [(labels, w.restarts) for w, labels in per_worker],
    )
    out.counter(
        "camhub_detect_worker_inferences_total",
        "Jobs the worker ran.",
        [(labels, w.inferences) for w, labels in per_worker],
    )
    out.gauge(
        "camhub_detect_worker_rss_bytes",
        "Resident memory of the worker process.",
        [(labels, int(w.rss_mb * 2**20)) for w, labels in per_worker],
    )
    out.gauge(
        "camhub_detect_worker_busy",
        "1 while the worker runs a job.",
        [(labels, w.state == "busy") for w, labels in per_worker],
    )
