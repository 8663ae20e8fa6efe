"""Detection's typed stats write the JSON the API has always served (same keys, nested
records as objects), so /api/objects and /api/cameras did not change with them."""

from __future__ import annotations

import json
from typing import Any

from camhub.detect.stats import (
    CameraDetectionStats,
    DetectionStats,
    DetectorWorkerStats,
    ObjectCounts,
)
from camhub.distributed.stats import ActorStats, ClusterHealth

CAMERA_KEYS = {
    "camera", "status", "detect_fps", "detect_fps_target", "looks", "inferences",
    "full_frame", "no_motion", "skipped", "failed", "inference_ms", "queue_wait_ms",
    "in_flight", "counts",
}  # fmt: skip
WORKER_KEYS = {
    "worker", "pid", "state", "restarts", "inferences", "images", "avg_ms", "last_ms",
    "rss_mb", "last_error",
}  # fmt: skip
ACTOR_KEYS = WORKER_KEYS | {"backend", "node_id", "host", "in_flight", "failures"}


def _worker(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict(
        worker=0, pid=123, state="ready", restarts=0, inferences=5, images=5,
        avg_ms=12.5, last_ms=11.0, rss_mb=80.1, last_error=None,
    )  # fmt: skip
    return {**base, **kw}


def test_detection_stats_serialise_as_before() -> None:
    counts = ObjectCounts({"person": 1}, {"porch": 1}, {"door": {"in": 2, "out": 0}}, 3)
    camera = CameraDetectionStats(
        "porch", "ok", 4.9, 5.0, 10, 8, 2, 2, 1, 0, 33.3, 1.2, False, counts
    )
    stats = DetectionStats(
        ["person"], 80, [416, 416], 1, True, [DetectorWorkerStats(**_worker())], [camera]
    )
    out = json.loads(json.dumps(stats.as_dict()))
    assert set(out) == {
        "labels", "model_labels", "input_size", "batch_size", "motion_gated", "workers", "cameras",
    }  # fmt: skip
    assert set(out["cameras"][0]) == CAMERA_KEYS and set(out["workers"][0]) == WORKER_KEYS
    assert out["cameras"][0]["counts"] == {
        "objects": {"person": 1},
        "zones": {"porch": 1},
        "lines": {"door": {"in": 2, "out": 0}},
        "events_started": 3,
    }


def test_ray_actors_and_cluster_serialise_as_before() -> None:
    actor = ActorStats(**_worker(), backend="ray", node_id="abc", host="h", in_flight=1)
    health = ClusterHealth("ray", "auto", "running", "", 0, {"nodes": 2}, 9, 1, 3, [actor])
    out = json.loads(json.dumps(health.as_dict()))
    assert set(out) == {
        "backend", "address", "state", "reason", "fallbacks", "cluster", "sent", "lost",
        "hub_encoded", "actors",
    }  # fmt: skip
    assert set(out["actors"][0]) == ACTOR_KEYS and out["actors"][0]["node_id"] == "abc"
    # An actor is a worker: detection's own stats take it as one.
    stats = DetectionStats([], 80, [416, 416], 1, True, [actor], [])
    assert set(stats.as_dict()["workers"][0]) == ACTOR_KEYS  # type: ignore[index]
