"""What every dashboard response shares: JSON without caching, the pages' security
headers, the static folder; and the one way a handler reads a request body (bounded)."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse

STATIC = Path(__file__).parent / "static"

NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
"""For anything that changes (API answers, snapshots, streams): never cached."""


def csp(*, media: str | None = None, connect: str | None = None) -> str:
    """The pages' Content-Security-Policy: only the hub's own scripts and styles;
    ``media``/``connect`` add the sources a page's video or sockets need."""
    parts = ["default-src 'self'", "img-src 'self' blob: data:"]
    if media is not None:
        parts.append(f"media-src {media}")
    parts += ["style-src 'self'", "script-src 'self'"]
    if connect is not None:
        parts.append(f"connect-src {connect}")
    parts += ["object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"]
    return "; ".join(parts)


def html_headers(*, media: str | None = None, connect: str | None = None) -> dict[str, str]:
    return {
        "Content-Security-Policy": csp(media=media, connect=connect),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


HTML_HEADERS = html_headers()
"""The dashboard's pages."""


def page(name: str, headers: dict[str, str] = HTML_HEADERS, status: int = 200) -> FileResponse:
    """A page from the static folder, with its security headers."""
    return FileResponse(STATIC / name, status_code=status, headers=headers)


def json(data: object, status: int = 200) -> JSONResponse:
    """An API answer: JSON, never cached."""
    return JSONResponse(data, status_code=status, headers=NO_STORE)


def error(message: str, status: int) -> JSONResponse:
    """An API error: ``{"error": message}``."""
    return json({"error": message}, status)


async def read_body(request: Request, limit: int) -> bytes:
    """The request's body, refused (ValueError) as soon as it passes ``limit`` bytes,
    before the rest is read."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ValueError("request body too large")
    return bytes(body)
