"""Serving a clip request: ask the exporter, wait for the MP4 while watching for the
client to hang up (then the export is given up, unless another request shares it), and
answer 429 with Retry-After when too many clips are waiting."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from camhub.record.clip import ClipBusy, ClipError, ClipExporter
from camhub.record.export_queue import JobCancelled, Ticket
from camhub.web.responses import error


async def clip_response(
    request: Request, clips: ClipExporter, camera: str, start: float, end: float
) -> Response:
    try:
        ticket = clips.export(camera, start, end)
    except ClipBusy as exc:
        busy = error(str(exc), exc.status)
        busy.headers["Retry-After"] = str(exc.retry_after)
        return busy
    except ClipError as exc:
        return error(str(exc), exc.status)
    try:
        path = await _result_unless_gone(request, ticket)
    except ClipError as exc:
        return error(str(exc), exc.status)
    except JobCancelled:  # the hub is stopping
        return error("the hub is stopping", 503)
    finally:
        ticket.release()
    if path is None:
        return Response(status_code=499)  # nobody reads it: the client is gone
    return FileResponse(path, media_type="video/mp4", headers={"Cache-Control": "no-store"})


async def _result_unless_gone(request: Request, ticket: Ticket[Path]) -> Path | None:
    """The clip's path, or None when the client disconnects first."""
    future = ticket.future
    if not future.done():
        loop = asyncio.get_running_loop()
        finished = asyncio.Event()

        def wake(_: object) -> None:
            with contextlib.suppress(RuntimeError):  # loop closed during shutdown
                loop.call_soon_threadsafe(finished.set)

        # Not asyncio.wrap_future: cancelling its wrapper would cancel the shared job.
        future.add_done_callback(wake)
        done = asyncio.ensure_future(finished.wait())
        gone = asyncio.ensure_future(_disconnect(request))
        try:
            await asyncio.wait({done, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            done.cancel()
            gone.cancel()
        if not future.done():
            return None
    if future.cancelled():
        raise JobCancelled("the clip was cancelled")
    return future.result()


async def _disconnect(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass
