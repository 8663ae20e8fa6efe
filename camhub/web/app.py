"""The dashboard's ASGI application: pages, JSON API, snapshots, MJPEG, metrics.

``create_app(hub, processors)`` builds it; :mod:`camhub.web.server` runs it with uvicorn.
Camera names are data: pages are static files that put names in with ``textContent``,
links are URL-encoded, and names are sanitised wherever they become file names.
"""

from __future__ import annotations

import contextlib
import json
import re
import struct
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from camhub.detect import metrics as detect_metrics
from camhub.detect.scheduler import ObjectDetection, ObjectsUpdate
from camhub.distributed import RayPool
from camhub.distributed import metrics as ray_metrics
from camhub.notify import Sink
from camhub.processing import ProcessorRunner, ProcessorUpdate
from camhub.types import CameraName, CamhubError, Frame, HubView
from camhub.web import metrics, notify
from camhub.web.auth import OPEN_PATHS as DASHBOARD_OPEN_PATHS
from camhub.web.auth import TokenAuth
from camhub.web.broadcast import LIVE, Broadcaster, HubPump, Key, Picture
from camhub.web.health import hub_health
from camhub.web.phone import OPEN_PATHS as PHONE_OPEN_PATHS
from camhub.web.phone import Phones, phone_routes

if TYPE_CHECKING:
    from camhub.history import History

STATIC = Path(__file__).parent / "static"
BOUNDARY = "camhubframe"
_HTML_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; "
        "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(name: str, suffix: str = "") -> str:
    """``name`` made safe as a file name: no separators, no dot files, bounded length."""
    cleaned = re.sub(r"\.{2,}", ".", _UNSAFE_FILE_CHARS.sub("_", name)).strip("._") or "camera"
    return cleaned[:100] + suffix


def _fps(request: Request, default: float) -> float:
    raw = request.query_params.get("fps")
    try:
        value = default if raw is None else float(raw)
    except ValueError:
        value = default
    return min(max(value, 0.0), 120.0)


class Dashboard:
    """Everything the routes need, passed explicitly (no globals)."""

    def __init__(
        self,
        hub: HubView,
        runners: Sequence[ProcessorRunner],
        detection: ObjectDetection | None = None,
    ) -> None:
        self.hub = hub
        self.runners = list(runners)
        self.detection = detection
        self.broadcaster = Broadcaster(seed=self._seed)
        self.pump = HubPump(hub, self.broadcaster)
        self.started_at = time.time()
        for runner in self.runners:
            runner.add_listener(self._on_update)
        if detection is not None:
            detection.add_listener(self._on_objects)

    # -- wiring ----------------------------------------------------------------------

    def _on_update(self, update: ProcessorUpdate) -> None:
        key = (update.camera, update.processor)
        if update.jpeg is not None and self.broadcaster.has_viewer_for(key):
            self.broadcaster.publish_threadsafe(
                update.camera, update.processor, update.jpeg, update.frame_received_at
            )

    def objects_json(self, update: ObjectsUpdate) -> dict[str, Any]:
        out = update.as_dict()
        if self.detection is not None:
            out.update(self.detection.zones(update.camera))
        return out

    def _on_objects(self, update: ObjectsUpdate) -> None:
        # Boxes travel as JSON on the same multiplexed stream as the pictures, and the
        # browser draws them: no per-viewer JPEG encode on the hub.
        if self.broadcaster.has_viewer_for((update.camera, OBJECTS)):
            payload = json.dumps(self.objects_json(update)).encode()
            self.broadcaster.publish_threadsafe(update.camera, OBJECTS, payload, update.at)

    def _seed(self, bc: Broadcaster) -> None:
        for name in self.hub.camera_names():
            frame = self.hub.latest(name)
            if frame is not None and (bc.latest_at((name, LIVE)) or 0) < frame.received_at:
                with contextlib.suppress(Exception):
                    bc.publish(name, LIVE, frame.to_jpeg(), frame.received_at)
            for runner in self.runners:
                update = runner.latest(name)
                if update is None or update.jpeg is None:
                    continue
                if (bc.latest_at((name, runner.name)) or 0) < update.frame_received_at:
                    bc.publish(name, runner.name, update.jpeg, update.frame_received_at)

    def views(self, camera: CameraName) -> list[str]:
        return [LIVE, *(r.name for r in self.runners if r.wants(camera))]

    def runner(self, view: str) -> ProcessorRunner | None:
        return next((r for r in self.runners if r.name == view), None)

    # -- JSON ------------------------------------------------------------------------

    def camera_json(self, name: CameraName) -> dict[str, Any] | None:
        stats = self.hub.camera_stats(name)
        if stats is None:
            return None
        out = stats.as_dict()
        # Seconds since the newest frame, by the hub's clock: what the page greys on.
        out["idle_s"] = round(max(0.0, time.time() - stats.last_seen), 1)
        base = "/api/cameras/" + quote(name, safe="")
        out["links"] = {
            "self": base,
            "snapshot": base + "/snapshot.jpg",
            "stream": base + "/stream.mjpg",
            "page": "/camera?name=" + quote(name, safe=""),
        }
        out["views"] = self.views(name)
        processors: dict[str, Any] = {}
        for runner in self.runners:
            if not runner.wants(name):
                continue
            ws = runner.camera_stats(name)
            update = runner.latest(name)
            processors[runner.name] = {
                "stats": None if ws is None else ws.as_dict(),
                "data": None if update is None else update.data,
                "detections": [] if update is None else update.detections,
                "frame_received_at": None if update is None else update.frame_received_at,
                # A result about a picture from a camera that is gone is history, not news.
                "stale": not stats.online,
            }
        out["processors"] = processors
        if self.detection is not None:
            det_stats = next(
                (c for c in self.detection.camera_stats() if c["camera"] == name), None
            )
            latest = self.detection.latest(name)
            out["objects"] = {
                "stats": det_stats,
                "latest": None if latest is None else self.objects_json(latest),
            }
        return out

    # -- streams ---------------------------------------------------------------------

    def wants_for(self, request: Request) -> Callable[[Key], bool] | None:
        pictures = self._wants_pictures(request)
        if pictures is None:
            return None
        if request.query_params.get("objects") == "1":
            return lambda key: key[1] == OBJECTS or pictures(key)
        # Objects records are JSON, not pictures: only for clients that ask for them.
        return lambda key: key[1] != OBJECTS and pictures(key)

    def _wants_pictures(self, request: Request) -> Callable[[Key], bool] | None:
        camera = request.query_params.get("camera")
        view = request.query_params.get("view", LIVE)
        if camera is not None:
            only = request.query_params.get("view")
            return lambda key: key[0] == camera and (only is None or key[1] == only)
        if view == LIVE:
            return lambda key: key[1] == LIVE
        if view != "processed" and self.runner(view) is None:
            return None

        def wants(key: Key) -> bool:
            processed = [v for v in self.views(key[0]) if v != LIVE]
            if view != "processed":
                processed = [v for v in processed if v == view]
            return key[1] in processed if processed else key[1] == LIVE

        return wants


OBJECTS = "objects"
"""The stream view whose records carry a camera's tracked objects as JSON, not a JPEG."""


def _json(data: object, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=_NO_STORE)


def _not_found(name: str) -> JSONResponse:
    if not name:
        return _json({"error": "no camera name given; the list of cameras is /api/cameras"}, 404)
    return _json({"error": f"no camera named {name!r}"}, 404)


async def _http_error(request: Request, exc: Exception) -> Response:
    """API clients get JSON errors; pages keep Starlette's plain text."""
    assert isinstance(exc, HTTPException)
    if request.url.path == "/api" or request.url.path.startswith("/api/"):
        message = exc.detail if exc.status_code != 404 else f"no API path {request.url.path!r}"
        return _json({"error": message, "see": "/api/cameras"}, exc.status_code)
    return PlainTextResponse(exc.detail, exc.status_code, headers=exc.headers)


def _jpeg_of(frame: Frame) -> bytes | JSONResponse:
    """The frame as JPEG, or a 415 saying why it cannot be one (a raw float64 or 4-D array
    reaches the hub intact but has no picture form)."""
    try:
        return frame.to_jpeg()
    except (ValueError, CamhubError) as exc:
        if frame.encoding == "other":  # a sender's own format (PNG, WebP...): carried, not shown
            return _json({"error": f"camera {frame.name!r}: unsupported encoding ({exc})"}, 415)
        array = frame.array
        what = "" if array is None else f" ({array.dtype} array of shape {tuple(array.shape)})"
        return _json(
            {
                "error": f"camera {frame.name!r} sends frames that cannot be shown as a "
                f"picture{what}: {exc}; send uint8 BGR or grey images, or JPEG"
            },
            415,
        )


def _mux_record(pic: Picture) -> bytes:
    head = json.dumps(
        {"camera": pic.camera, "view": pic.view, "seq": pic.seq, "at": pic.at}
    ).encode()
    return b"".join(
        (struct.pack(">I", len(head)), head, struct.pack(">I", len(pic.jpeg)), pic.jpeg)
    )


def _mjpeg_part(pic: Picture) -> bytes:
    head = (
        f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(pic.jpeg)}\r\n\r\n"
    ).encode()
    return head + pic.jpeg + b"\r\n"


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
    dash = Dashboard(hub, processors, detection)

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers=_HTML_HEADERS)

    async def camera_page(request: Request) -> Response:
        return FileResponse(STATIC / "camera.html", headers=_HTML_HEADERS)

    async def healthz(request: Request) -> Response:
        ok = hub.running
        return _json({"status": "ok" if ok else "receiver stopped"}, 200 if ok else 503)

    async def cameras(request: Request) -> Response:
        items = [dash.camera_json(name) for name in hub.camera_names()]
        return _json(
            {
                "cameras": [c for c in items if c is not None],
                "hub": {
                    **hub_health(hub, dash.started_at).as_dict(),
                    "endpoints": hub.endpoints,
                    "offline_after": hub.offline_after,
                    "viewers": dash.broadcaster.viewers,
                    "processors": [r.name for r in dash.runners],
                    "problems": [] if history is None else history.health(),
                    "detection": None if dash.detection is None else dash.detection.stats(),
                },
                "time": time.time(),
            }
        )

    async def camera(request: Request) -> Response:
        name = request.path_params["name"]
        data = dash.camera_json(name)
        return _not_found(name) if data is None else _json(data)

    async def snapshot(request: Request) -> Response:
        name = request.path_params["name"]
        view = request.query_params.get("view", LIVE)
        if view == LIVE:
            frame = hub.latest(name)
            if frame is None:
                return _not_found(name)
            encoded = _jpeg_of(frame)
            if isinstance(encoded, JSONResponse):
                return encoded
            jpeg, at = encoded, frame.received_at
        else:
            runner = dash.runner(view)
            update = None if runner is None else runner.latest(name)
            if update is None or update.jpeg is None:
                return _json({"error": f"no {view!r} picture for camera {name!r}"}, 404)
            jpeg, at = update.jpeg, update.frame_received_at
        filename = safe_filename(name, ".jpg")
        return Response(
            jpeg,
            media_type="image/jpeg",
            headers={
                **_NO_STORE,
                "Content-Disposition": f'inline; filename="{filename}"',
                "X-Camhub-Received-At": f"{at:.6f}",
            },
        )

    async def mjpeg(request: Request) -> Response:
        name = request.path_params["name"]
        view = request.query_params.get("view", LIVE)
        if hub.latest(name) is None and name not in hub.camera_names():
            return _not_found(name)
        if view != LIVE and dash.runner(view) is None:
            return _json({"error": f"no view {view!r}; views: {dash.views(name)}"}, 404)
        key = (name, view)
        max_fps = _fps(request, 0.0)

        async def parts() -> AsyncIterator[bytes]:
            async for pic in dash.broadcaster.pictures(lambda k: k == key, max_fps=max_fps):
                yield _mjpeg_part(pic)

        return StreamingResponse(
            parts(),
            media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
            headers=_NO_STORE,
        )

    async def mux(request: Request) -> Response:
        wants = dash.wants_for(request)
        if wants is None:
            return _json({"error": "unknown view"}, 404)
        max_fps = _fps(request, 0.0)

        async def records() -> AsyncIterator[bytes]:
            async for pic in dash.broadcaster.pictures(wants, max_fps=max_fps):
                yield _mux_record(pic)

        return StreamingResponse(
            records(), media_type="application/octet-stream", headers=_NO_STORE
        )

    async def objects(request: Request) -> Response:
        det = dash.detection
        if det is None:
            return _json({"error": "object detection is off (camhub hub --detect person,...)"}, 404)
        latest = {}
        for name in hub.camera_names():
            update = det.latest(name)
            if update is not None:
                latest[name] = dash.objects_json(update)
        cluster = det.pool.health() if isinstance(det.pool, RayPool) else None
        return _json(
            {"detection": det.stats(), "cluster": cluster, "latest": latest, "time": time.time()}
        )

    async def prometheus(request: Request) -> Response:
        text = metrics.render(
            hub, dash.runners, dash.broadcaster, hub_health(hub, dash.started_at)
        ) + notify.metrics(sinks)
        if history is not None:
            from camhub.web.events_api import metrics_text

            text += metrics_text(history)
        if dash.detection is not None:
            text += detect_metrics.render(dash.detection)
            if isinstance(dash.detection.pool, RayPool):
                text += ray_metrics.render(dash.detection.pool)
        return Response(text, media_type=metrics.CONTENT_TYPE, headers=_NO_STORE)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        import asyncio

        dash.broadcaster.bind(asyncio.get_running_loop())
        dash.pump.start()
        try:
            yield
        finally:
            dash.broadcaster.close()
            dash.pump.stop()

    routes = [
        Route("/", index),
        Route("/camera", camera_page),
        Route("/healthz", healthz),
        Route("/metrics", prometheus),
        Route("/api/cameras", cameras),
        *notify.routes(sinks),
        Route("/api/objects", objects),
        Route("/api/stream", mux),
        Route("/api/cameras/{name:path}/snapshot.jpg", snapshot),
        Route("/api/cameras/{name:path}/stream.mjpg", mjpeg),
        Route("/api/cameras/{name:path}", camera),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    events_api = None
    if history is not None:
        from camhub.web.events_api import EventsApi

        events_api = EventsApi(history)
        routes = [*events_api.routes(), *routes]
    open_paths = DASHBOARD_OPEN_PATHS
    if phones is not None:
        routes[-1:-1] = phone_routes(phones)
        open_paths = open_paths | PHONE_OPEN_PATHS
    app = Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={HTTPException: _http_error}
    )
    app.state.dashboard = dash
    app.state.events_api = events_api
    if token is not None:
        app.add_middleware(
            TokenAuth, token=token, secure_cookie=secure_cookie, open_paths=open_paths
        )
    return app
