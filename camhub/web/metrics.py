"""``GET /metrics``: the Prometheus text of every part the hub runs.

Each part writes its own families through :mod:`camhub.metrics` (the hub's counters in
:mod:`camhub.health`, processors, sinks, events and recording, detection, the Ray
cluster); this module only picks the parts this hub has, adds the dashboard's own
viewer counters, and serves the text.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from camhub import health, metrics
from camhub.detect import metrics as detect_metrics
from camhub.distributed import RayPool
from camhub.distributed import metrics as ray_metrics
from camhub.metrics import Collector, Exposition, single
from camhub.notify import Sink
from camhub.notify import metrics as sink_metrics
from camhub.processing import metrics as processor_metrics
from camhub.web import responses
from camhub.web.broadcast import Broadcaster
from camhub.web.dashboard import Dashboard

if TYPE_CHECKING:
    from camhub.history import History


def collect_viewers(out: Exposition, broadcaster: Broadcaster) -> None:
    out.gauge(
        "camhub_web_viewers", "Open dashboard and MJPEG streams.", single(broadcaster.viewers)
    )
    out.counter(
        "camhub_web_pictures_sent_total",
        "Pictures sent to viewers.",
        single(broadcaster.sent_total),
    )
    out.counter(
        "camhub_web_pictures_skipped_total",
        "Pictures viewers skipped because a newer one was ready.",
        single(broadcaster.skipped_total),
    )


def collectors(
    dash: Dashboard, *, sinks: Sequence[Sink] = (), history: History | None = None
) -> list[Collector]:
    """What ``/metrics`` shows for this hub, in a fixed order."""

    def hub(out: Exposition) -> None:
        health.collect(out, dash.hub, dash.health())

    out: list[Collector] = [
        hub,
        partial(collect_viewers, broadcaster=dash.broadcaster),
        partial(processor_metrics.collect, runners=dash.runners),
        partial(sink_metrics.collect, sinks=sinks),
    ]
    if history is not None:
        from camhub import history as history_module  # SQLite and the recorder: on use

        out.append(partial(history_module.collect, history=history))
    det = dash.detection
    if det is not None:
        out.append(partial(detect_metrics.collect, det=det))
        if isinstance(det.pool, RayPool):
            out.append(partial(ray_metrics.collect, pool=det.pool))
    return out


class MetricsEndpoint:
    """Prometheus text of every collector, in the order given."""

    def __init__(self, collectors: Sequence[Collector]) -> None:
        self.collectors = list(collectors)

    async def metrics(self, request: Request) -> Response:
        text = metrics.render(self.collectors)
        return Response(text, media_type=metrics.CONTENT_TYPE, headers=responses.NO_STORE)

    def routes(self) -> list[BaseRoute]:
        return [Route("/metrics", self.metrics)]
