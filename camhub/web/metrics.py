"""Prometheus text exposition (format 0.0.4), written by hand: a handful of families does
not justify a dependency."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from camhub.processing import ProcessorRunner
from camhub.types import HubView
from camhub.web.broadcast import Broadcaster
from camhub.web.health import HubHealth

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs: Sequence[tuple[str, str]]) -> str:
    if not pairs:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in pairs) + "}"


def _number(value: float | int | bool) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    # Rounded so that sums such as 0.0021000000000000003 print as 0.0021; 6 decimals keep
    # microseconds in Unix timestamps.
    return repr(round(float(value), 6))


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(
        self,
        name: str,
        kind: str,
        help_text: str,
        samples: Iterable[tuple[Sequence[tuple[str, str]], float | int | bool]],
    ) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            self.lines.append(f"{name}{_labels(labels)} {_number(value)}")


def render(
    hub: HubView, runners: Sequence[ProcessorRunner], broadcaster: Broadcaster, health: HubHealth
) -> str:
    stats = hub.stats()
    w = _Writer()

    def per_camera(attr: str) -> list[tuple[Sequence[tuple[str, str]], float | int | bool]]:
        return [([("camera", s.name)], getattr(s, attr)) for s in stats]

    w.family("camhub_cameras", "gauge", "Cameras the hub has seen.", [((), len(stats))])
    w.family(
        "camhub_camera_online", "gauge", "1 while the camera sends frames.", per_camera("online")
    )
    w.family(
        "camhub_frames_received_total",
        "counter",
        "Frames received per camera.",
        per_camera("frames"),
    )
    w.family(
        "camhub_bytes_received_total",
        "counter",
        "Payload bytes received per camera.",
        per_camera("bytes"),
    )
    w.family(
        "camhub_frames_dropped_total",
        "counter",
        "Frames the sender numbered but the hub never received.",
        per_camera("dropped"),
    )
    w.family(
        "camhub_camera_fps", "gauge", "Frames per second received recently.", per_camera("fps")
    )
    w.family(
        "camhub_camera_last_seen_timestamp_seconds",
        "gauge",
        "Unix time of the latest frame.",
        per_camera("last_seen"),
    )
    w.family(
        "camhub_camera_age_seconds",
        "gauge",
        "Capture-to-hub age of the latest frame (stamped senders only).",
        [([("camera", s.name)], s.age_ms / 1000) for s in stats if s.age_ms is not None],
    )
    w.family(
        "camhub_malformed_messages_total",
        "counter",
        "Messages the hub could not decode.",
        [((), hub.malformed)],
    )
    w.family("camhub_messages_total", "counter", "Messages the hub received.", [((), hub.messages)])
    w.family(
        "camhub_uptime_seconds", "gauge", "Seconds since the hub started.", [((), health.uptime_s)]
    )
    w.family(
        "camhub_refused_total",
        "counter",
        "Senders refused by secure mode (handshakes and frames from revoked keys), by reason.",
        [([("reason", r)], n) for r, n in health.refused_by_reason.items()],
    )
    w.family(
        "camhub_web_viewers",
        "gauge",
        "Open dashboard and MJPEG streams.",
        [((), broadcaster.viewers)],
    )
    w.family(
        "camhub_web_pictures_sent_total",
        "counter",
        "Pictures sent to viewers.",
        [((), broadcaster.sent_total)],
    )
    w.family(
        "camhub_web_pictures_skipped_total",
        "counter",
        "Pictures viewers skipped because a newer one was ready.",
        [((), broadcaster.skipped_total)],
    )
    workers = [(r.name, ws) for r in runners for ws in r.stats()]

    def per_worker(attr: str) -> list[tuple[Sequence[tuple[str, str]], float | int | bool]]:
        return [([("processor", p), ("camera", ws.camera)], getattr(ws, attr)) for p, ws in workers]

    w.family(
        "camhub_processor_frames_total",
        "counter",
        "Frames a processor finished.",
        per_worker("processed"),
    )
    w.family(
        "camhub_processor_skipped_total",
        "counter",
        "Frames a processor had no time for (newer ones had arrived).",
        per_worker("skipped"),
    )
    w.family(
        "camhub_processor_errors_total",
        "counter",
        "Frames on which a processor raised.",
        per_worker("errors"),
    )
    w.family(
        "camhub_processor_last_seconds",
        "gauge",
        "Time the latest process() call took.",
        [(labels, v / 1000) for labels, v in per_worker("last_ms")],
    )
    return "\n".join(w.lines) + "\n"
