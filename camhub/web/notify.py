"""Sink health for the dashboard: ``GET /api/notify`` and the ``camhub_sink_*`` metric
families. (Kept apart from app.py so that the web app only wires it in.)"""

from __future__ import annotations

import time
from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from camhub.notify import Sink
from camhub.web.metrics import _Writer

_NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def routes(sinks: Sequence[Sink]) -> list[Route]:
    async def health(request: Request) -> Response:
        return JSONResponse(
            {"sinks": [s.stats().as_dict() for s in sinks], "time": time.time()},
            headers=_NO_STORE,
        )

    return [Route("/api/notify", health)]


def metrics(sinks: Sequence[Sink]) -> str:
    if not sinks:
        return ""
    stats = [s.stats() for s in sinks]
    w = _Writer()

    def per_sink(attr: str) -> list[tuple[Sequence[tuple[str, str]], float | int | bool]]:
        return [([("sink", st.name), ("type", st.type)], getattr(st, attr)) for st in stats]

    w.family("camhub_sink_sent_total", "counter", "Messages a sink delivered.", per_sink("sent"))
    w.family(
        "camhub_sink_dropped_total",
        "counter",
        "Events a sink gave up on (queue full, retries exhausted).",
        per_sink("dropped"),
    )
    w.family(
        "camhub_sink_errors_total",
        "counter",
        "Failed delivery or connection attempts.",
        per_sink("errors"),
    )
    w.family(
        "camhub_sink_connected",
        "gauge",
        "1 while the sink reaches its broker or URL.",
        per_sink("connected"),
    )
    w.family(
        "camhub_sink_pending", "gauge", "Events waiting in a sink's queue.", per_sink("pending")
    )
    return "\n".join(w.lines) + "\n"
