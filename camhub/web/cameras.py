"""The cameras' JSON API: the list with the hub's health, one camera, its newest
picture, the tracked objects, and ``/healthz``."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from camhub.distributed import RayPool
from camhub.types import CamhubError, Frame
from camhub.web import responses
from camhub.web.broadcast import LIVE
from camhub.web.dashboard import Dashboard

if TYPE_CHECKING:
    from camhub.history import History

_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(name: str, suffix: str = "") -> str:
    """``name`` made safe as a file name: no separators, no dot files, bounded length."""
    cleaned = re.sub(r"\.{2,}", ".", _UNSAFE_FILE_CHARS.sub("_", name)).strip("._") or "camera"
    return cleaned[:100] + suffix


def not_found(name: str) -> JSONResponse:
    if not name:
        return responses.error("no camera name given; the list of cameras is /api/cameras", 404)
    return responses.error(f"no camera named {name!r}", 404)


def _jpeg_of(frame: Frame) -> bytes | JSONResponse:
    """The frame as JPEG, or a 415 saying why it cannot be one (a raw float64 or 4-D array
    reaches the hub intact but has no picture form)."""
    try:
        return frame.to_jpeg()
    except (ValueError, CamhubError) as exc:
        if frame.encoding == "other":  # a sender's own format (PNG, WebP...): carried, not shown
            return responses.error(f"camera {frame.name!r}: unsupported encoding ({exc})", 415)
        array = frame.array
        what = "" if array is None else f" ({array.dtype} array of shape {tuple(array.shape)})"
        return responses.error(
            f"camera {frame.name!r} sends frames that cannot be shown as a "
            f"picture{what}: {exc}; send uint8 BGR or grey images, or JPEG",
            415,
        )


class CameraApi:
    """``/api/cameras`` and below, ``/api/objects``, ``/healthz``."""

    def __init__(self, dash: Dashboard, history: History | None = None) -> None:
        self.dash = dash
        self.hub = dash.hub
        self.history = history

    async def healthz(self, request: Request) -> Response:
        ok = self.hub.running
        return responses.json({"status": "ok" if ok else "receiver stopped"}, 200 if ok else 503)

    async def cameras(self, request: Request) -> Response:
        dash, hub, det = self.dash, self.hub, self.dash.detection
        items = [dash.camera_json(name) for name in hub.camera_names()]
        return responses.json(
            {
                "cameras": [c for c in items if c is not None],
                "hub": {
                    **dash.health().as_dict(),
                    "endpoints": hub.endpoints,
                    "offline_after": hub.offline_after,
                    "viewers": dash.broadcaster.viewers,
                    "processors": [r.name for r in dash.runners],
                    "problems": [] if self.history is None else self.history.health(),
                    "detection": None if det is None else det.stats().as_dict(),
                },
                "time": time.time(),
            }
        )

    async def camera(self, request: Request) -> Response:
        name = request.path_params["name"]
        data = self.dash.camera_json(name)
        return not_found(name) if data is None else responses.json(data)

    async def snapshot(self, request: Request) -> Response:
        name = request.path_params["name"]
        view = request.query_params.get("view", LIVE)
        if view == LIVE:
            frame = self.hub.latest(name)
            if frame is None:
                return not_found(name)
            encoded = _jpeg_of(frame)
            if isinstance(encoded, JSONResponse):
                return encoded
            jpeg, at = encoded, frame.received_at
        else:
            runner = self.dash.runner(view)
            update = None if runner is None else runner.latest(name)
            if update is None or update.jpeg is None:
                return responses.error(f"no {view!r} picture for camera {name!r}", 404)
            jpeg, at = update.jpeg, update.frame_received_at
        filename = safe_filename(name, ".jpg")
        return Response(
            jpeg,
            media_type="image/jpeg",
            headers={
                **responses.NO_STORE,
                "Content-Disposition": f'inline; filename="{filename}"',
                "X-Camhub-Received-At": f"{at:.6f}",
            },
        )

    async def objects(self, request: Request) -> Response:
        det = self.dash.detection
        if det is None:
            return responses.error("object detection is off (camhub hub --detect person,...)", 404)
        latest = {}
        for name in self.hub.camera_names():
            update = det.latest(name)
            if update is not None:
                latest[name] = self.dash.objects_json(update)
        cluster = det.pool.health().as_dict() if isinstance(det.pool, RayPool) else None
        return responses.json(
            {
                "detection": det.stats().as_dict(),
                "cluster": cluster,
                "latest": latest,
                "time": time.time(),
            }
        )

    def routes(self) -> list[BaseRoute]:
        """The camera routes; ``/api/cameras/{name}`` takes any path, so routes for paths
        below a camera (snapshot, stream) must come before these."""
        return [
            Route("/healthz", self.healthz),
            Route("/api/cameras", self.cameras),
            Route("/api/objects", self.objects),
            Route("/api/cameras/{name:path}/snapshot.jpg", self.snapshot),
            Route("/api/cameras/{name:path}", self.camera),
        ]
