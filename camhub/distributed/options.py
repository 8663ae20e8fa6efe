"""What ``--detect-on`` and its companions mean, validated without touching the network."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from typing import Any

from camhub.types import CamhubError


class ClusterError(CamhubError):
    """The Ray cluster could not be reached or used (bad address, Ray not installed...)."""


LOCAL = "auto"
"""``--detect-on ray`` with this address starts a private local Ray instance."""
NO_RAY = "-"
"""Internal address of the fallback: actors are threads of the bridge process."""


@dataclass(slots=True)
class RayOptions:
    address: str = LOCAL
    """``auto`` (start a local Ray), ``HOST:PORT`` of a head node (the GCS port, 6379 by
    default) or ``ray://HOST:10001`` (Ray Client). Empty: ``$RAY_ADDRESS``, else ``auto``."""
    actors: int = 1
    """Detector actors to start; :meth:`RayDetection.grow` adds more while running."""
    num_cpus: float = 1.0
    """CPUs each actor reserves: Ray places it on a node with that many free."""
    num_gpus: float = 0.0
    """GPUs each actor reserves (fractions share one GPU between actors)."""
    resources: dict[str, float] = field(default_factory=dict)
    """Custom resources each actor needs, e.g. ``{"detect": 1}`` to use only nodes that
    were started with ``--resources='{"detect": 4}'``."""
    depth: int = 2
    """Frames queued per actor (the next JPEG travels while the current one runs)."""
    call_timeout: float = 5.0
    """An actor call not answered in this many seconds counts as lost and the actor is
    taken out of rotation until it answers a ping (a node that vanished, a hung model)."""
    connect_timeout: float = 90.0
    """Seconds to wait for the cluster and the first actor at start."""
    fallback_after: float = 20.0
    """With no actor usable for this long, the cluster counts as gone: the hub falls back
    to local detection (or none) and retries the cluster every ``retry_every`` s."""
    retry_every: float = 30.0
    max_restarts: int = -1
    """Ray restarts a dead actor this many times (-1: always), on any node that fits."""
    fallback: str = "local"
    """When the cluster is gone: ``local`` (the same detector in this machine's worker
    threads, outside the hub process) or ``none`` (no detection until it is back)."""
    fallback_workers: int = 1
    local_cpus: int | None = None
    """CPUs of the local Ray that ``auto`` starts (default: every core)."""

    def __post_init__(self) -> None:
        if not self.address:
            self.address = os.environ.get("RAY_ADDRESS", "") or LOCAL
        if self.actors < 1:
            raise ClusterError(f"need at least one detector actor, got {self.actors}")
        if self.num_cpus < 0 or self.num_gpus < 0:
            raise ClusterError("actor num_cpus and num_gpus must not be negative")
        if self.depth < 1:
            raise ClusterError(f"depth must be at least 1, got {self.depth}")
        for name in ("call_timeout", "connect_timeout", "fallback_after", "retry_every"):
            if getattr(self, name) <= 0:
                raise ClusterError(f"{name} must be positive, got {getattr(self, name)}")
        if self.fallback not in ("local", "none"):
            raise ClusterError(f"fallback must be 'local' or 'none', got {self.fallback!r}")
        if self.fallback_workers < 1:
            raise ClusterError(f"fallback_workers must be at least 1, got {self.fallback_workers}")
        if self.address not in (LOCAL, NO_RAY) and not _looks_like_address(self.address):
            raise ClusterError(
                f"Ray address {self.address!r} is not 'auto', HOST:PORT or ray://HOST:PORT"
            )

    @property
    def is_local(self) -> bool:
        return self.address == LOCAL

    @property
    def uses_ray(self) -> bool:
        return self.address != NO_RAY

    @property
    def where(self) -> str:
        if self.address == NO_RAY:
            return "local worker threads"
        return "a local Ray instance" if self.is_local else f"the Ray cluster at {self.address}"

    def local_fallback(self) -> RayOptions:
        """These options for the fallback: same detector, local threads, no Ray."""
        return replace(self, address=NO_RAY, actors=self.fallback_workers, connect_timeout=60.0)

    def actor_options(self) -> dict[str, Any]:
        """Keyword arguments for ``ActorClass.options``: placement and restarts."""
        opts: dict[str, Any] = {
            "num_cpus": self.num_cpus,
            "num_gpus": self.num_gpus,
            "max_restarts": self.max_restarts,
            # A frame lost with its node is not worth re-running: the camera has a newer one.
            "max_task_retries": 0,
            # Spread actors over nodes, so one node's loss takes as few as possible.
            "scheduling_strategy": "SPREAD",
        }
        if self.resources:
            opts["resources"] = dict(self.resources)
        return opts


def _looks_like_address(text: str) -> bool:
    rest = text.removeprefix("ray://")
    host, sep, port = rest.rpartition(":")
    return bool(sep and host and port.isdigit() and 0 < int(port) < 65536)


def parse_resources(text: str) -> dict[str, float]:
    """``'{"detect": 1}'`` (JSON, as ``ray start --resources`` takes it)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ClusterError(
            f"--ray-resources must be a JSON object, e.g. '{{\"gpu_node\": 1}}': {e}"
        ) from None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, int | float) and v >= 0 for k, v in value.items()
    ):
        raise ClusterError("--ray-resources must map names to non-negative numbers")
    return {k: float(v) for k, v in value.items()}
