"""Prometheus families for detection on a Ray cluster: where it runs, per actor health."""

from __future__ import annotations

from camhub.distributed.pool import RayPool
from camhub.metrics import Exposition, single


def collect(out: Exposition, pool: RayPool) -> None:
    actors = [(a, [("actor", str(a.worker)), ("node", a.node_id[:12])]) for a in pool.stats()]
    out.gauge(
        "camhub_ray_cluster_up",
        "1 while detection runs on the Ray cluster (0: fallback or stopped).",
        single(pool.state == "running"),
    )
    out.counter(
        "camhub_ray_fallbacks_total",
        "Times the cluster was lost and detection fell back.",
        single(pool.fallbacks),
    )
    out.counter(
        "camhub_ray_jobs_lost_total",
        "Detection jobs sent but never answered (actor or node died, timeout).",
        single(pool.lost),
    )
    out.gauge(
        "camhub_ray_actor_ready",
        "1 while the actor takes calls.",
        [(labels, a.state in ("ready", "busy")) for a, labels in actors],
    )
    out.counter(
        "camhub_ray_actor_inferences_total",
        "Jobs the actor answered.",
        [(labels, a.inferences) for a, labels in actors],
    )
    out.counter(
        "camhub_ray_actor_failures_total",
        "Calls the actor failed or lost.",
        [(labels, a.failures) for a, labels in actors],
    )
    out.counter(
        "camhub_ray_actor_restarts_total",
        "Times Ray restarted the actor (a new process answered).",
        [(labels, a.restarts) for a, labels in actors],
    )
    out.gauge(
        "camhub_ray_actor_inference_ms",
        "Recent decode + inference time per job on the actor.",
        [(labels, a.avg_ms or 0) for a, labels in actors],
    )
