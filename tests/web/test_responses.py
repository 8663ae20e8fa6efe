"""The shared request/response helpers: a bounded body read stops at its limit."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from camhub.web.responses import read_body


async def echo(request: Request) -> Response:
    try:
        body = await read_body(request, 10)
    except ValueError as exc:
        return JSONResponse({"error": str(exc)}, status_code=413)
    return JSONResponse({"length": len(body)})


def test_a_body_within_the_limit_is_read_whole_and_a_longer_one_is_refused() -> None:
    with TestClient(Starlette(routes=[Route("/", echo, methods=["POST"])])) as client:
        assert client.post("/", content=b"0123456789").json() == {"length": 10}
        assert client.post("/", content=b"").json() == {"length": 0}

        def chunks() -> object:
            yield b"01234"
            yield b"56789"
            yield b"x"

        r = client.post("/", content=chunks())  # type: ignore[arg-type]
        assert r.status_code == 413 and r.json() == {"error": "request body too large"}
