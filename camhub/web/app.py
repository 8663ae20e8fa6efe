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
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from camhub.hub import Hub
from camhub.processing import ProcessorRunner, ProcessorUpdate
from camhub.types import CameraName, CamhubError
from camhub.web import metrics
from camhub.web.auth import TokenAuth
from camhub.web.broadcast import LIVE, Broadcaster, HubPump, Key, Picture

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

    def __init__(self, hub: Hub, runners: Sequence[ProcessorRunner]) -> None:
        self.hub = hub
        self.runners = list(runners)
        self.broadcaster = Broadcaster(seed=self._seed)
        self.pump = HubPump(hub, self.broadcaster)
        self.started_at = time.time()
        for runner in self.runners:
            runner.add_listener(self._on_update)

    # -- wiring ----------------------------------------------------------------------

    def _on_update(self, update: ProcessorUpdate) -> None:
        key = (update.camera, update.processor)
        if update.jpeg is not None and self.broadcaster.has_viewer_for(key):
            self.broadcaster.publish_threadsafe(
                update.camera, update.processor, update.jpeg, update.frame_received_at
            )

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
            }
        out["processors"] = processors
        return out

    # -- streams ---------------------------------------------------------------------

    def wants_for(self, request: Request) -> Callable[[Key], bool] | None:
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


def _json(data: object, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=_NO_STORE)


def _not_found(name: str) -> JSONResponse:
    return _json({"error": f"no camera named {name!r}"}, 404)


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
    hub: Hub,
    processors: Sequence[ProcessorRunner] = (),
    *,
    token: str | None = None,
    secure_cookie: bool = False,
) -> Starlette:
    """The dashboard app for ``hub``; with ``token``, every request must carry it."""
    dash = Dashboard(hub, processors)

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
                    "endpoints": hub.endpoints,
                    "malformed": hub.malformed,
                    "messages": hub.messages,
                    "offline_after": hub.offline_after,
                    "viewers": dash.broadcaster.viewers,
                    "uptime_s": round(time.time() - dash.started_at, 1),
                    "processors": [r.name for r in dash.runners],
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
            try:
                jpeg, at = frame.to_jpeg(), frame.received_at
            except CamhubError as exc:  # an opaque payload or an array that is no picture
                return _json({"error": f"camera {name!r}: unsupported encoding ({exc})"}, 415)
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

    async def prometheus(request: Request) -> Response:
        text = metrics.render(hub, dash.runners, dash.broadcaster)
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
        Route("/api/stream", mux),
        Route("/api/cameras/{name:path}/snapshot.jpg", snapshot),
        Route("/api/cameras/{name:path}/stream.mjpg", mjpeg),
        Route("/api/cameras/{name:path}", camera),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.dashboard = dash
    if token is not None:
        app.add_middleware(TokenAuth, token=token, secure_cookie=secure_cookie)
    return app
