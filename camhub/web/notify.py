"""Sink health for the dashboard: ``GET /api/notify`` (the sinks' ``/metrics`` families
are written by :mod:`camhub.notify.metrics`)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from camhub.notify import Sink
from camhub.web import responses


class NotifyApi:
    def __init__(self, sinks: Sequence[Sink]) -> None:
        self.sinks = list(sinks)

    async def health(self, request: Request) -> Response:
        return responses.json(
            {"sinks": [s.stats().as_dict() for s in self.sinks], "time": time.time()}
        )

    def routes(self) -> list[BaseRoute]:
        return [Route("/api/notify", self.health)]
