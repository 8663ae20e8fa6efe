"""The dashboard's ASGI application: pages, JSON API, snapshots, MJPEG, metrics.

``create_app(hub, processors)`` builds it; :mod:`camhub.web.server` runs it with uvicorn.
Each concern is a small class holding what it needs (no globals, no closures):
:class:`~camhub.web.dashboard.Dashboard` (state and picture fan-out),
:class:`~camhub.web.cameras.CameraApi`, :class:`~camhub.web.streams.StreamEndpoints`,
:class:`~camhub.web.metrics.MetricsEndpoint`, :class:`~camhub.web.notify.NotifyApi`,
and with a history or phones :class:`~camhub.web.events_api.EventsApi` and
:class:`~camhub.web.phone.PhoneEndpoints`. (Plain classes with bound methods rather than
Starlette's ``HTTPEndpoint``, which is built per request and could reach its
dependencies only through ``app.state``.)

Camera names are data: pages are static files that put names in with ``textContent``,
links are URL-encoded, and names are sanitised wherever they become file names.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from camhub.detect.scheduler import ObjectDetection
from camhub.notify import Sink
from camhub.processing import ProcessorRunner
from camhub.types import HubView
from camhub.web import responses
from camhub.web.auth import OPEN_PATHS as DASHBOARD_OPEN_PATHS
from camhub.web.auth import TokenAuth
from camhub.web.cameras import CameraApi, safe_filename
from camhub.web.dashboard import OBJECTS, Dashboard
from camhub.web.live import LiveVideo
from camhub.web.metrics import MetricsEndpoint, collectors
from camhub.web.notify import NotifyApi
from camhub.web.phone import OPEN_PATHS as PHONE_OPEN_PATHS
from camhub.web.phone import Phones, phone_routes
from camhub.web.streams import StreamEndpoints
from camhub.web.webrtc import WebRtcLive

if TYPE_CHECKING:
    from camhub.history import History

__all__ = ["OBJECTS", "Dashboard", "create_app", "safe_filename"]


# Live video plays from a MediaSource (a blob: URL) fed by the live WebSocket ('self'
# covers ws: and wss: to the same host).
_LIVE_PAGE = responses.html_headers(media="'self' blob:")


async def _index(request: Request) -> Response:
    return responses.page("index.html", _LIVE_PAGE)


async def _camera_page(request: Request) -> Response:
    return responses.page("camera.html", _LIVE_PAGE)


async def _phones_off(request: Request) -> Response:
    """``/phones`` on a hub without ``--phones``: how to turn them on, not a bare 404."""
    return responses.page("phones-off.html", status=404)


async def _http_error(request: Request, exc: Exception) -> Response:
    """API clients get JSON errors; pages keep Starlette's plain text."""
    assert isinstance(exc, HTTPException)
    if request.url.path == "/api" or request.url.path.startswith("/api/"):
        message = exc.detail if exc.status_code != 404 else f"no API path {request.url.path!r}"
        return responses.json({"error": message, "see": "/api/cameras"}, exc.status_code)
    return PlainTextResponse(exc.detail, exc.status_code, headers=exc.headers)


def create_app(
    hub: HubView,
    processors: Sequence[ProcessorRunner] = (),
    *,
    token: str | None = None,
    secure_cookie: bool = False,
    history: History | None = None,
    sinks: Sequence[Sink] = (),
    detection: ObjectDetection | None = None,
    phones: Phones | None = None,
) -> Starlette:
    """The dashboard app for ``hub``; with ``token``, every request must carry it;
    with ``history``, also events and recordings (:mod:`camhub.web.events_api`);
    with ``phones``, browsers can also stream into the hub (:mod:`camhub.web.phone`)."""
    dash = Dashboard(hub, processors, detection, None if phones is None else phones.gate)
    live = LiveVideo(hub)
    webrtc = WebRtcLive(live)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        dash.broadcaster.bind(asyncio.get_running_loop())
        dash.pump.start()
        try:
            yield
        finally:
            await webrtc.close()
            live.close()
            dash.broadcaster.close()
            dash.pump.stop()

    events_api = None
    routes: list[BaseRoute] = []
    if history is not None:
        from camhub.web.events_api import EventsApi  # SQLite and the recorder: on use

        events_api = EventsApi(history)
        routes += events_api.routes()
    routes += [
        Route("/", _index),
        Route("/camera", _camera_page),
        *MetricsEndpoint(collectors(dash, sinks=sinks, history=history)).routes(),
        *NotifyApi(sinks).routes(),
        # Streams first: /api/cameras/{name} would take .../stream.mjpg as a camera name.
        *live.routes(),
        *webrtc.routes(),
        *StreamEndpoints(dash).routes(),
        *CameraApi(dash, history).routes(),
    ]
    open_paths = DASHBOARD_OPEN_PATHS
    if phones is not None:
        routes += phone_routes(phones)
        open_paths = open_paths | PHONE_OPEN_PATHS
    else:
        routes.append(Route("/phones", _phones_off))
    routes.append(Mount("/static", StaticFiles(directory=responses.STATIC), name="static"))
    app = Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={HTTPException: _http_error}
    )
    app.state.dashboard = dash
    app.state.live = live
    app.state.webrtc = webrtc
    app.state.events_api = events_api
    if token is not None:
        app.add_middleware(
            TokenAuth, token=token, secure_cookie=secure_cookie, open_paths=open_paths
        )
    return app
