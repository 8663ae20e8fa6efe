"""Hub-wide health: uptime, messages, malformed messages (and from whom), refused
senders (and why), counted over every ingest path (ZeroMQ senders and browser cameras);
shown by ``/api/cameras``, the dashboard header and ``/metrics``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from camhub.metrics import Exposition, single
from camhub.phones.gate import PhoneGate
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


def _add(into: dict[str, int], key: str, n: int) -> None:
    into[key] = into.get(key, 0) + n


def hub_health(hub: HubView, started_at: float, phones: PhoneGate | None = None) -> HubHealth:
    """``hub``'s counters, plus those of its browser cameras' ``phones`` gate."""
    messages, malformed_total = hub.messages, hub.malformed
    malformed = {p.peer: p.malformed for p in hub.peer_stats() if p.malformed}
    security = hub.security
    refused, by_reason, by_address = 0, {}, {}
    if isinstance(security, CurveServer):
        stats = security.stats()
        refused, by_reason, by_address = (
            stats.refusals,
            dict(stats.by_reason),
            dict(stats.by_address),
        )
    if phones is not None:
        totals = phones.totals()
        messages += totals.messages
        malformed_total += totals.malformed
        refused += totals.refused
        for reason, n in totals.refused_by_reason.items():
            _add(by_reason, reason, n)
        for client in phones.clients():
            if client.malformed or client.oversized:
                _add(malformed, f"{client.client} (browser)", client.malformed + client.oversized)
            if client.refused:
                _add(by_address, client.client, client.refused)
    return HubHealth(
        uptime_s=time.time() - started_at,
        messages=messages,
        malformed=malformed_total,
        malformed_by_peer=_top(malformed),
        refused=refused,
        refused_by_reason=dict(sorted(by_reason.items())),
        refused_by_address=_top(by_address),
        secure=isinstance(security, CurveServer),
    )


def collect(out: Exposition, hub: HubView, health: HubHealth) -> None:
    """Prometheus families per camera, and the hub-wide counters."""
    stats = hub.stats()
    cams = [(s, [("camera", s.name)]) for s in stats]
    out.gauge("camhub_cameras", "Cameras the hub has seen.", single(len(stats)))
    out.gauge(
        "camhub_camera_online",
        "1 while the camera sends frames.",
        [(labels, s.online) for s, labels in cams],
    )
    out.counter(
        "camhub_frames_received_total",
        "Frames received per camera.",
        [(labels, s.frames) for s, labels in cams],
    )
    out.counter(
        "camhub_bytes_received_total",
        "Payload bytes received per camera.",
        [(labels, s.bytes) for s, labels in cams],
    )
    out.counter(
        "camhub_frames_dropped_total",
        "Frames the sender numbered but the hub never received.",
        [(labels, s.dropped) for s, labels in cams],
    )
    out.counter(
        "camhub_camera_malformed_total",
        "Frames naming this camera that the hub refused as malformed.",
        [(labels, s.malformed) for s, labels in cams],
    )
    out.gauge(
        "camhub_camera_fps",
        "Frames per second received recently.",
        [(labels, s.fps) for s, labels in cams],
    )
    out.gauge(
        "camhub_camera_last_seen_timestamp_seconds",
        "Unix time of the latest frame.",
        [(labels, s.last_seen) for s, labels in cams],
    )
    now = time.time()
    out.gauge(
        "camhub_camera_idle_seconds",
        "Seconds since the latest frame arrived (how stale the picture is).",
        [(labels, max(0.0, now - s.last_seen)) for s, labels in cams],
    )
    out.gauge(
        "camhub_camera_age_seconds",
        "Capture-to-hub age of the latest frame (stamped senders only).",
        [(labels, s.age_ms / 1000) for s, labels in cams if s.age_ms is not None],
    )
    out.counter(
        "camhub_malformed_messages_total",
        "Messages the hub could not decode (ZeroMQ senders and browser cameras).",
        single(health.malformed),
    )
    out.counter(
        "camhub_messages_total",
        "Messages the hub received (ZeroMQ senders and browser cameras).",
        single(health.messages),
    )
    out.gauge("camhub_uptime_seconds", "Seconds since the hub started.", single(health.uptime_s))
    out.counter(
        "camhub_refused_total",
        "Senders refused, by reason: secure mode's (handshakes, frames from revoked keys) "
        "and browser cameras' (phone_*).",
        [([("reason", r)], n) for r, n in health.refused_by_reason.items()],
    )
