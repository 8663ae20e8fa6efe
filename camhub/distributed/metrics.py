"""Prometheus families for detection on a Ray cluster: where it runs, per actor health."""

from __future__ import annotations

from collections.abc import Sequence

from camhub.distributed.pool import RayPool
from camhub.web.metrics import _Writer

Sample = tuple[Sequence[tuple[str, str]], float | int | bool]


def render(pool: RayPool) -> str:
    actors = pool.stats()
    w = _Writer()

    def per_actor(key: str) -> list[Sample]:
        out: list[Sample] = []
        for a in actors:
            value = a[key]
            labels = [("actor", str(a["worker"])), ("node", str(a["node_id"])[:12])]
            out.append((labels, value if isinstance(value, int | float) else 0))
        return out

    w.family(
        "camhub_ray_cluster_up",
        "gauge",
        "1 while detection runs on the Ray cluster (0: fallback or stopped).",
        [((), pool.state == "running")],
    )
    w.family(
        "camhub_ray_fallbacks_total",
        "counter",
        "Times the cluster was lost and detection fell back.",
        [((), pool.fallbacks)],
    )
    w.family(
        "camhub_ray_jobs_lost_total",
        "counter",
        "Detection jobs sent but never answered (actor or node died, timeout).",
        [((), pool.lost)],
    )
    w.family(
        "camhub_ray_actor_ready",
        "gauge",
        "1 while the actor takes calls.",
        [
            (labels, a["state"] in ("ready", "busy"))
            for (labels, _), a in zip(per_actor("inferences"), actors, strict=True)
        ],
    )
    w.family(
        "camhub_ray_actor_inferences_total",
        "counter",
        "Jobs the actor answered.",
        per_actor("inferences"),
    )
    w.family(
        "camhub_ray_actor_failures_total",
        "counter",
        "Calls the actor failed or lost.",
        per_actor("failures"),
    )
    w.family(
        "camhub_ray_actor_restarts_total",
        "counter",
        "Times Ray restarted the actor (a new process answered).",
        per_actor("restarts"),
    )
    w.family(
        "camhub_ray_actor_inference_ms",
        "gauge",
        "Recent decode + inference time per job on the actor.",
        per_actor("avg_ms"),
    )
    return "\n".join(w.lines) + "\n"
