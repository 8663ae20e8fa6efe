"""Prometheus families for object detection: per camera and per worker process."""

from __future__ import annotations

from collections.abc import Sequence

from camhub.detect.scheduler import FAILED, ObjectDetection
from camhub.web.metrics import _Writer

Sample = tuple[Sequence[tuple[str, str]], float | int | bool]


def render(det: ObjectDetection) -> str:
    cams = det.camera_stats()
    workers = det.pool.stats()
    w = _Writer()

    def per_camera(key: str) -> list[Sample]:
        return [([("camera", str(c["camera"]))], _num(c[key])) for c in cams]

    def per_worker(key: str) -> list[Sample]:
        return [([("worker", str(s["worker"]))], _num(s[key])) for s in workers]

    w.family(
        "camhub_detect_failed",
        "gauge",
        "1 while the camera's detector worker is being restarted.",
        [([("camera", str(c["camera"]))], c["status"] == FAILED) for c in cams],
    )
    w.family(
        "camhub_detect_fps", "gauge", "Detector runs per second achieved.", per_camera("detect_fps")
    )
    w.family(
        "camhub_detect_looks_total",
        "counter",
        "Frames looked at (motion checked).",
        per_camera("looks"),
    )
    w.family(
        "camhub_detect_inferences_total",
        "counter",
        "Frames (or regions) the detector ran on.",
        per_camera("inferences"),
    )
    w.family(
        "camhub_detect_no_motion_total",
        "counter",
        "Looks skipped because nothing moved.",
        per_camera("no_motion"),
    )
    w.family(
        "camhub_detect_skipped_total",
        "counter",
        "Frames never looked at (rate limit or busy).",
        per_camera("skipped"),
    )
    w.family(
        "camhub_detect_failed_total",
        "counter",
        "Looks lost to a crashed or hung worker.",
        per_camera("failed"),
    )
    w.family(
        "camhub_detect_inference_ms",
        "gauge",
        "Latest inference time per image.",
        per_camera("inference_ms"),
    )
    w.family(
        "camhub_detect_queue_wait_ms",
        "gauge",
        "Frame arrival to dispatch.",
        per_camera("queue_wait_ms"),
    )
    objects: list[Sample] = []
    for c in cams:
        counts = c["counts"]
        assert isinstance(counts, dict)
        by_label = counts.get("objects", {})
        for label, n in by_label.items():
            objects.append(([("camera", str(c["camera"])), ("label", label)], n))
    w.family("camhub_detect_objects", "gauge", "Objects tracked now.", objects)
    lines: list[Sample] = []
    for c in cams:
        counts = c["counts"]
        assert isinstance(counts, dict)
        for line, dirs in counts.get("lines", {}).items():
            for direction, n in dirs.items():
                lines.append(
                    ([("camera", str(c["camera"])), ("line", line), ("direction", direction)], n)
                )
    w.family(
        "camhub_detect_line_crossings_total",
        "counter",
        "Objects that crossed a counting line.",
        lines,
    )
    w.family(
        "camhub_detect_worker_restarts_total",
        "counter",
        "Worker restarts after a crash or hang.",
        per_worker("restarts"),
    )
    w.family(
        "camhub_detect_worker_inferences_total",
        "counter",
        "Jobs the worker ran.",
        per_worker("inferences"),
    )
    w.family(
        "camhub_detect_worker_rss_bytes",
        "gauge",
        "Resident memory of the worker process.",
        [([("worker", str(s["worker"]))], int(float(_num(s["rss_mb"])) * 2**20)) for s in workers],
    )
    w.family(
        "camhub_detect_worker_busy",
        "gauge",
        "1 while the worker runs a job.",
        [([("worker", str(s["worker"]))], s["state"] == "busy") for s in workers],
    )
    return "\n".join(w.lines) + "\n"


def _num(value: object) -> float | int | bool:
    if isinstance(value, bool | int | float):
        return value
    return 0
