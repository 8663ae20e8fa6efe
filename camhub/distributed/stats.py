"""What detection on a Ray cluster reports: per actor, and where detection runs."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from camhub.detect.stats import DetectorWorkerStats


@dataclass(frozen=True, slots=True)
class ActorStats(DetectorWorkerStats):
    """A call slot on a detector actor: a worker's numbers, plus where it runs and how it
    fails."""

    backend: str = "ray"
    """``ray``, or ``local`` while detection has fallen back to local threads."""
    node_id: str = ""
    host: str = ""
    in_flight: int = 0
    failures: int = 0


@dataclass(frozen=True, slots=True)
class ClusterHealth:
    """Where detection runs and how it fares (``/api/objects``' ``cluster``)."""

    backend: str
    """``ray`` (where it was asked to run; ``state`` says whether it does)."""
    address: str | None
    state: str
    reason: str
    fallbacks: int
    """Times the cluster was lost and detection fell back."""
    cluster: dict[str, Any]
    """What Ray says about the cluster (nodes, resources), as the driver reported it."""
    sent: int
    lost: int
    """Jobs sent but never answered (an actor or node died, a timeout)."""
    hub_encoded: int
    actors: list[ActorStats] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        out = dataclasses.asdict(self)
        out["actors"] = [a.as_dict() for a in self.actors]
        return out
