"""Access control for an exposed dashboard: one shared token, accepted as a bearer token,
as the password of HTTP Basic auth (any user name), as ``?token=`` or as the cookie set
after a successful ``?token=`` visit (so links and images in the page keep working).

A pure ASGI middleware, so streaming responses pass through untouched.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import json
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from camhub.types import ArgumentError

COOKIE = "camhub_token"
OPEN_PATHS = frozenset({"/healthz"})
"""Answer without a token: a load balancer's health check, which reveals nothing."""


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def presented_tokens(scope: Scope) -> list[str]:
    """Every credential the request carries, from any of the accepted places."""
    found: list[str] = []
    auth = _header(scope, b"authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer":
            found.append(value.strip())
        elif scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            found.append(decoded.partition(":")[2])
    query = scope.get("query_string", b"").decode("latin-1")
    found.extend(v for k, v in parse_qsl(query) if k == "token")
    cookie = _header(scope, b"cookie")
    if cookie:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(cookie)
        except Exception:
            jar = SimpleCookie()
        if COOKIE in jar:
            found.append(jar[COOKIE].value)
    return found


class TokenAuth:
    """Refuses (401) every HTTP request that does not carry ``token``."""

    def __init__(
        self,
        app: ASGIApp,
        token: str,
        *,
        secure_cookie: bool = False,
        open_paths: frozenset[str] = OPEN_PATHS,
    ) -> None:
        if not token:
            raise ArgumentError("an empty dashboard token would let anyone in")
        self.app = app
        self._token = token.encode()
        self._secure = secure_cookie
        self._open = open_paths

    def _ok(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode(), self._token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self._open:
            await self.app(scope, receive, send)
            return
        tokens = presented_tokens(scope)
        if not any(self._ok(t) for t in tokens):
            await _refuse(send)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        via_query = any(k == "token" and self._ok(v) for k, v in parse_qsl(query))
        if not via_query:
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                attrs = "HttpOnly; SameSite=Strict; Path=/"
                if self._secure:
                    attrs += "; Secure"
                cookie = f"{COOKIE}={self._token.decode()}; {attrs}"
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"set-cookie", cookie.encode())],
                }
            await send(message)

        await self.app(scope, receive, send_with_cookie)


async def _refuse(send: Send) -> None:
    body = (
        b'{"error": "this dashboard needs a token: send \'Authorization: Bearer TOKEN\', '
        b'HTTP Basic auth with the token as password, or ?token=TOKEN"}'
    )
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", b'Basic realm="camhub", charset="UTF-8"'),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _host_name(host_header: str) -> str:
    """The name part of a Host header: ``[::1]:8000`` -> ``::1``, ``a:80`` -> ``a``."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def is_loopback_name(host_header: str) -> bool:
    """True for ``localhost``, an IPv4 address in 127.0.0.0/8 and ``[::1]``, any port."""
    name = _host_name(host_header).rstrip(".")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class LoopbackHostOnly:
    """Refuses (421) requests whose Host header is not a loopback name.

    A dashboard without a token trusts whoever reaches its loopback address. A web page
    on ``evil.example`` that points its name at 127.0.0.1 (DNS rebinding) reaches it too,
    from the victim's own browser, but its requests then carry ``Host: evil.example``.
    Requests without a Host header (HTTP/1.0 tools) come from no browser and pass.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            host = _header(scope, b"host")
            if host is not None and not is_loopback_name(host):
                await _misdirected(scope, send, host)
                return
        await self.app(scope, receive, send)


async def _misdirected(scope: Scope, send: Send, host: str) -> None:
    body = json.dumps(
        {
            "error": f"this dashboard has no token, so it answers only to localhost, "
            f"127.0.0.1 or [::1], not to Host {host[:100]!r} (a page under another name "
            "may be a DNS rebinding attack). To reach it by another name, give it a token "
            "(CAMHUB_WEB_TOKEN or --web-token-file)"
        }
    ).encode()
    prefix = ""
    if scope["type"] == "websocket":
        if "websocket.http.response" not in scope.get("extensions", {}):
            await send({"type": "websocket.close", "code": 1008})
            return
        prefix = "websocket."  # refused before the handshake, as plain HTTP
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": prefix + "http.response.start", "status": 421, "headers": headers})
    await send({"type": prefix + "http.response.body", "body": body})
