"""Hub-level health for the dashboard, ``/api/cameras`` and ``/metrics``: uptime,
messages, malformed messages (and from whom), refused senders (and why)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from camhub.security.curve import CurveServer
from camhub.types import HubView

TOP = 10
"""Most peers listed by name; the totals count all of them."""


@dataclass(frozen=True, slots=True)
class HubHealth:
    uptime_s: float
    messages: int
    malformed: int
    malformed_by_peer: dict[str, int] = field(default_factory=dict)
    refused: int = 0
    refused_by_reason: dict[str, int] = field(default_factory=dict)
    refused_by_address: dict[str, int] = field(default_factory=dict)
    secure: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "uptime_s": round(self.uptime_s, 1),
            "messages": self.messages,
            "malformed": self.malformed,
            "malformed_by_peer": self.malformed_by_peer,
            "secure": self.secure,
            "refused": self.refused,
            "refused_by_reason": self.refused_by_reason,
            "refused_by_address": self.refused_by_address,
        }


def _top(counts: dict[str, int]) -> dict[str, int]:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
    return dict(ranked)


def hub_health(hub: HubView, started_at: float) -> HubHealth:
    malformed = {p.peer: p.malformed for p in hub.peer_stats() if p.malformed}
    security = hub.security
    refused, by_reason, by_address = 0, {}, {}
    if isinstance(security, CurveServer):
        stats = security.stats()
        refused, by_reason, by_address = stats.refusals, stats.by_reason, stats.by_address
    return HubHealth(
        uptime_s=time.time() - started_at,
        messages=hub.messages,
        malformed=hub.malformed,
        malformed_by_peer=_top(malformed),
        refused=refused,
        refused_by_reason=dict(sorted(by_reason.items())),
        refused_by_address=_top(by_address),
        secure=isinstance(security, CurveServer),
    )
