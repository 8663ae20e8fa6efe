"""Prometheus families for notification sinks (``camhub_sink_*``)."""

from __future__ import annotations

from collections.abc import Sequence

from camhub.metrics import Exposition
from camhub.notify.base import Sink


def collect(out: Exposition, sinks: Sequence[Sink]) -> None:
    if not sinks:
        return
    stats = [(st, [("sink", st.name), ("type", st.type)]) for st in (s.stats() for s in sinks)]
    out.counter(
        "camhub_sink_sent_total",
        "Messages a sink delivered.",
        [(labels, st.sent) for st, labels in stats],
    )
    out.counter(
        "camhub_sink_dropped_total",
        "Events a sink gave up on (queue full, retries exhausted).",
        [(labels, st.dropped) for st, labels in stats],
    )
    out.counter(
        "camhub_sink_errors_total",
        "Failed delivery or connection attempts.",
        [(labels, st.errors) for st, labels in stats],
    )
    out.gauge(
        "camhub_sink_connected",
        "1 while the sink reaches its broker or URL.",
        [(labels, st.connected) for st, labels in stats],
    )
    out.gauge(
        "camhub_sink_pending",
        "Events waiting in a sink's queue.",
        [(labels, st.pending) for st, labels in stats],
    )
