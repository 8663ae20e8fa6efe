"""The dashboard's events and recordings: JSON API, snapshots, MP4 clips, a live event
stream (server-sent events) and the events page.

``EventsApi(history).routes()`` returns the routes; :func:`camhub.web.app.create_app`
adds them when the hub has a :class:`~camhub.history.History` (whose ``/metrics``
families :func:`camhub.history.collect` writes).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.concurrency import iterate_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from camhub.detect.labels import aliases_of
from camhub.events.model import Event, EventUpdate
from camhub.events.paging import BadCursor, Cursor, EventFilter
from camhub.history import History
from camhub.record.clip import ClipError
from camhub.record.index import Segment
from camhub.record.remux import Remux, plan_clip
from camhub.types import CamhubError
from camhub.web import responses
from camhub.web.clips import clip_response
from camhub.web.responses import NO_STORE, read_body
from camhub.web.responses import error as _error
from camhub.web.responses import json as _json

_PAGE_HEADERS = responses.html_headers(media="'self'")
"""The events page plays clips."""
_SSE_QUEUE = 256
MAX_CLIP_STREAMS = 8
"""Video clips sent at the same time (each one reads the disk; more wait with 429)."""
_HEARTBEAT = 1.0
MAX_REVIEW_IDS = 1000
"""Events one request may mark reviewed."""


class BadQuery(CamhubError, ValueError):
    """A query parameter the events API cannot use (answered 400, never raised further)."""


def _number(request: Request, key: str) -> float | None:
    raw = request.query_params.get(key)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise BadQuery(f"{key} must be a number (seconds since 1970), got {raw!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise BadQuery(f"{key} must be a finite number")
    return value


def segment_json(seg: Segment) -> dict[str, Any]:
    out = seg.as_dict()
    if seg.container == "fmp4":
        out["url"] = f"/api/recordings/{seg.id}.mp4"
    return out


class EventsApi:
    """The handlers, bound to one :class:`History`."""

    def __init__(self, history: History) -> None:
        self.history = history
        self.closing = False
        self._enders: set[Callable[[], None]] = set()
        """One per open event stream: queues its end behind what it was sent so far."""
        self._clip_streams = 0

    async def page(self, request: Request) -> Response:
        return responses.page("events.html", _PAGE_HEADERS)

    async def list_events(self, request: Request) -> Response:
        try:
            after, before = _number(request, "after"), _number(request, "before")
            limit_raw = _number(request, "limit")
        except BadQuery as exc:
            return _error(str(exc), 400)
        limit = 100 if limit_raw is None else int(min(max(limit_raw, 0), 1000))
        q = request.query_params
        label = q.get("label") or None
        reviewed = q.get("reviewed")
        if reviewed not in (None, "", "0", "1"):
            return _error("reviewed must be 1 (only reviewed events) or 0 (only the others)", 400)
        try:
            cursor = Cursor.parse(q["cursor"]) if q.get("cursor") else None
        except BadCursor as exc:
            return _error(str(exc), 400)
        flt = EventFilter(
            camera=q.get("camera") or None,
            # ?label=motorbike finds motorcycles, and events saved under the old name
            labels=None if label is None else aliases_of(label),
            zone=q.get("zone") or None,
            after=after,
            before=before,
            reviewed=None if not reviewed else reviewed == "1",
        )
        page = await asyncio.to_thread(self.history.store.page, flt, cursor, limit)
        active = {e.id: e for e in self.history.manager.active()}
        items = []
        for e in page.events:
            item = active.get(e.id, e).as_dict()
            item["reviewed"] = page.reviewed.get(e.id)
            items.append(item)
        more = None if page.next is None else page.next.token()
        return _json({"events": items, "next": more, "time": time.time()})

    async def facets(self, request: Request) -> Response:
        """What the review page's filters offer, from the data: every camera (with events,
        recordings or connected now), label and zone, the first and last event, and each
        camera's recording mode (so the page can say how to turn recording on)."""
        facets = await asyncio.to_thread(self.history.store.facets)
        recorded = await asyncio.to_thread(self.history.index.cameras)
        live = self.history.frames.camera_names()
        cameras = sorted({*facets.cameras, *recorded, *live})
        settings = self.history.settings
        return _json(
            {
                **facets.as_dict(),
                "cameras": cameras,
                "recorded": recorded,
                "recording": {c: settings.for_camera(c).mode for c in cameras},
                "recorder": self.history.recorder is not None,
                "time": time.time(),
            }
        )

    async def mark_reviewed(self, request: Request) -> Response:
        """``POST {"ids": [...], "reviewed": true}``. JSON only: a cross-site form cannot
        send ``application/json`` without a CORS preflight, which the hub never grants."""
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return _error("send JSON (Content-Type: application/json)", 415)
        try:
            body = json.loads(await read_body(request, 256 * 1024))
            ids, flag = body["ids"], body.get("reviewed", True)
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                raise TypeError
            if not isinstance(flag, bool) or len(ids) > MAX_REVIEW_IDS:
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return _error(
                f'send {{"ids": [up to {MAX_REVIEW_IDS} event ids], "reviewed": true|false}}',
                400,
            )
        changed = await asyncio.to_thread(self.history.store.set_reviewed, ids, flag)
        return _json({"changed": changed, "reviewed": flag})

    async def _event(self, request: Request) -> Event | Response:
        event_id = request.path_params["id"]
        event = await asyncio.to_thread(self.history.manager.get, event_id)
        if event is None:
            return _error(f"no event with id {event_id!r}", 404)
        return event

    async def get_event(self, request: Request) -> Response:
        event = await self._event(request)
        return event if isinstance(event, Response) else _json(event.as_dict())

    async def snapshot(self, request: Request) -> Response:
        event = await self._event(request)
        if isinstance(event, Response):
            return event
        jpeg = await asyncio.to_thread(self.history.store.snapshot, event.id)
        if not jpeg and event.snapshot:
            jpeg = event.snapshot
        if not jpeg:
            return _error(f"event {event.id!r} has no snapshot", 404)
        return Response(jpeg, media_type="image/jpeg", headers=NO_STORE)

    async def event_clip(self, request: Request) -> Response:
        event = await self._event(request)
        if isinstance(event, Response):
            return event
        rec = self.history.settings.for_camera(event.camera)
        end = time.time() if event.end is None else event.end
        start = event.start - rec.pre_roll
        return await self._clip(request, event.camera, start, end + rec.post_roll)

    async def range_clip(self, request: Request) -> Response:
        camera = request.query_params.get("camera")
        try:
            start, end = _number(request, "start"), _number(request, "end")
        except BadQuery as exc:
            return _error(str(exc), 400)
        if not camera or start is None or end is None:
            return _error("give camera, start and end (seconds since 1970)", 400)
        return await self._clip(request, camera, start, end)

    async def _clip(self, request: Request, camera: str, start: float, end: float) -> Response:
        try:
            remux = await asyncio.to_thread(plan_clip, self.history.index, camera, start, end)
        except ClipError as exc:
            return _error(str(exc), exc.status)
        if remux is not None:  # a video camera: its own packets, streamed as they are read
            return self._stream_clip(remux)
        return await clip_response(request, self.history.clips, camera, start, end)

    def _stream_clip(self, remux: Remux) -> Response:
        if self._clip_streams >= MAX_CLIP_STREAMS:
            busy = _error(f"{MAX_CLIP_STREAMS} clips are being sent; try again in a moment", 429)
            busy.headers["Retry-After"] = "1"
            return busy
        self._clip_streams += 1

        async def body() -> AsyncIterator[bytes]:
            try:
                async for chunk in iterate_in_threadpool(remux.chunks()):
                    yield chunk
            finally:  # also when the client hangs up: the stream stops reading
                self._clip_streams -= 1

        headers = {"Content-Length": str(remux.size), "Cache-Control": "no-store"}
        return StreamingResponse(body(), media_type="video/mp4", headers=headers)

    async def segment(self, request: Request) -> Response:
        """A video segment file as recorded: browsers play it directly."""
        sid = request.path_params["id"]
        seg = await asyncio.to_thread(self.history.index.get, sid)
        if seg is None:
            return _error(f"no recording segment {sid}", 404)
        if seg.container != "fmp4":
            return _error(
                f"segment {sid} holds JPEG frames, which browsers do not play: "
                "ask /api/recordings/clip.mp4 for its range",
                409,
            )
        if not seg.path.exists():
            return _error(f"segment {sid} was deleted", 404)
        return FileResponse(seg.path, media_type="video/mp4", headers={"Cache-Control": "no-store"})

    async def recordings(self, request: Request) -> Response:
        try:
            after, before = _number(request, "after"), _number(request, "before")
        except BadQuery as exc:
            return _error(str(exc), 400)
        camera = request.query_params.get("camera") or None
        segs = await asyncio.to_thread(self.history.index.find, camera, after, before, limit=5000)
        return _json(
            {
                "segments": [segment_json(s) for s in segs],
                "cameras": await asyncio.to_thread(self.history.index.cameras),
                "time": time.time(),
            }
        )

    async def status(self, request: Request) -> Response:
        return _json(self.history.stats().as_dict())

    async def stream(self, request: Request) -> Response:
        """Server-sent events: one ``data:`` line of JSON per EventUpdate (the update's
        shared JSON, the same bytes MQTT and webhooks send)."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[EventUpdate | None] = asyncio.Queue(_SSE_QUEUE)

        def offer(update: EventUpdate | None) -> None:
            if queue.full():  # a slow browser loses the oldest, never blocks the bus
                queue.get_nowait()
            queue.put_nowait(update)

        # Updates and the end (None) reach the queue through the same FIFO of the event
        # loop, so the ends published as the hub stops go out before the stream closes.
        def listener(update: EventUpdate | None) -> None:
            with contextlib.suppress(RuntimeError):  # loop closed during shutdown
                loop.call_soon_threadsafe(offer, update)

        def end() -> None:
            listener(None)

        manager = self.history.manager
        manager.add_listener(listener)
        self._enders.add(end)

        async def lines() -> AsyncIterator[bytes]:
            try:
                yield b"retry: 2000\n\n"
                if self.closing:
                    return
                while True:  # until the end (None) or the client hangs up
                    try:
                        update = await asyncio.wait_for(queue.get(), _HEARTBEAT)
                    except TimeoutError:
                        if await request.is_disconnected():
                            return
                        yield b": ping\n\n"
                        continue
                    if update is None:
                        return
                    kind = update.type.encode()
                    yield b"event: " + kind + b"\ndata: " + update.json + b"\n\n"
            finally:
                self._enders.discard(end)
                manager.remove_listener(listener)

        return StreamingResponse(
            lines(),
            media_type="text/event-stream",
            headers={**NO_STORE, "X-Accel-Buffering": "no"},
        )

    def close_streams(self) -> None:
        """End every open event stream after what was published before this call (the
        hub is stopping: the ends of its events still go out)."""
        self.closing = True
        for end in list(self._enders):
            end()

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/events", self.page),
            Route("/api/events", self.list_events),
            Route("/api/events/stream", self.stream),
            Route("/api/events/facets", self.facets),
            Route("/api/events/reviewed", self.mark_reviewed, methods=["POST"]),
            Route("/api/events/{id}/snapshot.jpg", self.snapshot),
            Route("/api/events/{id}/clip.mp4", self.event_clip),
            Route("/api/events/{id}", self.get_event),
            Route("/api/recordings", self.recordings),
            Route("/api/recordings/clip.mp4", self.range_clip),
            Route("/api/recordings/{id:int}.mp4", self.segment),
            Route("/api/recording", self.status),
        ]
