"""Live pictures: one camera as MJPEG (``stream.mjpg``), and the dashboard's multiplexed
stream of every camera and view (``/api/stream``).

The multiplexed stream is a sequence of records, each a 4-byte big-endian length, a
JSON head (``camera``, ``view``, ``seq``, ``at``), a 4-byte length and the payload (a
JPEG, or for the ``objects`` view the tracked objects as JSON).
"""

from __future__ import annotations

import json
import struct
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from camhub.web import responses
from camhub.web.broadcast import LIVE, Picture
from camhub.web.cameras import not_found
from camhub.web.dashboard import Dashboard

BOUNDARY = "camhubframe"


def _fps(request: Request, default: float) -> float:
    raw = request.query_params.get("fps")
    try:
        value = default if raw is None else float(raw)
    except ValueError:
        value = default
    return min(max(value, 0.0), 120.0)


def mux_record(pic: Picture) -> bytes:
    head = json.dumps(
        {"camera": pic.camera, "view": pic.view, "seq": pic.seq, "at": pic.at}
    ).encode()
    return b"".join(
        (struct.pack(">I", len(head)), head, struct.pack(">I", len(pic.jpeg)), pic.jpeg)
    )


def mjpeg_part(pic: Picture) -> bytes:
    head = (
        f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(pic.jpeg)}\r\n\r\n"
    ).encode()
    return head + pic.jpeg + b"\r\n"


class StreamEndpoints:
    """Viewers take pictures from the dashboard's broadcaster: the newest per view,
    never a queue (see :mod:`camhub.web.broadcast`)."""

    def __init__(self, dash: Dashboard) -> None:
        self.dash = dash

    async def mjpeg(self, request: Request) -> Response:
        dash = self.dash
        name = request.path_params["name"]
        view = request.query_params.get("view", LIVE)
        if dash.hub.latest(name) is None and name not in dash.hub.camera_names():
            return not_found(name)
        if view != LIVE and dash.runner(view) is None:
            return responses.error(f"no view {view!r}; views: {dash.views(name)}", 404)
        key = (name, view)
        max_fps = _fps(request, 0.0)

        async def parts() -> AsyncIterator[bytes]:
            async for pic in dash.broadcaster.pictures(lambda k: k == key, max_fps=max_fps):
                yield mjpeg_part(pic)

        return StreamingResponse(
            parts(),
            media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
            headers=responses.NO_STORE,
        )

    async def mux(self, request: Request) -> Response:
        wants = self.dash.wants_for(request)
        if wants is None:
            return responses.error("unknown view", 404)
        max_fps = _fps(request, 0.0)

        async def records() -> AsyncIterator[bytes]:
            async for pic in self.dash.broadcaster.pictures(wants, max_fps=max_fps):
                yield mux_record(pic)

        return StreamingResponse(
            records(), media_type="application/octet-stream", headers=responses.NO_STORE
        )

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/api/stream", self.mux),
            Route("/api/cameras/{name:path}/stream.mjpg", self.mjpeg),
        ]
