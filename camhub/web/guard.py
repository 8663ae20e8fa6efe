"""Connection limits for the dashboard's HTTP server, below the ASGI app, where uvicorn
bounds nothing by itself.

* **Request head deadline.** A connection must send a complete request head within
  ``header_timeout_s`` of connecting, and again of its previous response; otherwise it is
  answered 408 and closed. uvicorn's keep-alive timeout closes connections that send
  nothing between requests, but nothing closes one that sends half a request (slowloris).
* **Open connections per client address.** Beyond ``max_per_address`` a new connection
  is answered 503 and closed, so one address cannot take the slots of others. (uvicorn's
  ``limit_concurrency`` counts everybody's idle connections and then answers 503 to
  everybody, which is what let 256 idle sockets from one address lock the dashboard.)
* **All open connections** are capped by ``max_connections``, the last line against
  running out of file descriptors when many addresses take part.
* **WebSocket messages before authentication** are at most ``ws_pre_auth_max`` bytes: a
  client that has not shown a credential cannot make the hub buffer a large frame. The app
  raises the limit once it trusts the client, through the ``camhub.ws`` scope extension
  (:func:`raise_ws_limit`); a larger message before that closes the socket with 1009.

TLS connections are counted from the end of their handshake (asyncio gives up on a
handshake after 60 s). Everything here runs on the server's event loop thread.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

log = logging.getLogger("camhub.web")

ABORT_AFTER_S = 1.0
"""How long a refused or timed-out connection may take to close before it is cut."""
WS_EXTENSION = "camhub.ws"
"""Scope extension of every WebSocket: ``{"set_max_size": callable(int)}``."""


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    header_timeout_s: float = 10.0
    """Seconds a connection has to send a complete request head."""
    keep_alive_s: int = 5
    """Seconds an idle connection is kept open between requests."""
    max_per_address: int = 64
    """Open connections (streams and WebSockets included) one client address may hold."""
    max_connections: int = 1024
    """Open connections in all."""
    ws_pre_auth_max: int = 16 * 1024
    """Largest WebSocket message accepted before the app has authenticated the client."""


class ConnectionGuard:
    """Counts open connections per address and refuses those over the limits."""

    LOG_EVERY_S = 30.0

    def __init__(self, limits: ConnectionLimits | None = None) -> None:
        self.limits = limits or ConnectionLimits()
        self._open: dict[str, set[asyncio.Transport]] = {}
        self._answered: set[asyncio.Transport] = set()
        """Refused or timed-out connections, closing (not counted against anyone)."""
        self.total = 0
        self.refused = 0
        """Connections answered 503 because their address or the server was full."""
        self.header_timeouts = 0
        """Connections closed because their request head did not arrive in time."""
        self._logged_at = 0.0
        self._unlogged = 0

    def open_from(self, address: str) -> int:
        return len(self._open.get(address, ()))

    def admit(self, address: str, transport: asyncio.Transport) -> str | None:
        """``None`` admits the connection (call :meth:`leave` when it ends), otherwise
        the reason it is refused."""
        lim = self.limits
        held = self._open.get(address)
        if held is not None and len(held) >= lim.max_per_address:
            return self._refuse(
                f"too many open connections from {address} (limit {lim.max_per_address}); "
                "close some and try again"
            )
        if self.total >= lim.max_connections:
            return self._refuse(
                f"the dashboard has its maximum of {lim.max_connections} connections"
            )
        self._open.setdefault(address, set()).add(transport)
        self.total += 1
        return None

    def leave(self, address: str, transport: asyncio.Transport) -> None:
        held = self._open.get(address)
        if held is None or transport not in held:
            return  # already counted out
        held.discard(transport)
        if not held:
            del self._open[address]
        self.total -= 1

    def answered(self, transport: asyncio.Transport) -> None:
        self._answered.add(transport)

    def lost(self, transport: asyncio.Transport) -> None:
        self._answered.discard(transport)

    def abort_all(self) -> int:
        """Cut every connection still open (the server has stopped): a TLS peer that
        never answers close_notify would otherwise keep its socket past the event loop."""
        transports = [t for held in self._open.values() for t in held] + [*self._answered]
        for transport in transports:
            transport.abort()
        self._open.clear()
        self._answered.clear()
        self.total = 0
        return len(transports)

    def _refuse(self, reason: str) -> str:
        self.refused += 1
        self._note(reason)
        return reason

    def timed_out(self, address: str) -> None:
        self.header_timeouts += 1
        self._note(f"closed a connection from {address} that sent no complete request in time")

    def _note(self, what: str) -> None:
        # Under attack this happens thousands of times a minute: one line per interval.
        now = time.monotonic()
        self._unlogged += 1
        if now - self._logged_at >= self.LOG_EVERY_S:
            more = f" (and {self._unlogged - 1} more like it)" if self._unlogged > 1 else ""
            log.warning("dashboard: %s%s", what, more)
            self._logged_at, self._unlogged = now, 0


def _address_of(client: tuple[str, int] | None) -> str:
    return client[0] if client else "unknown"


def _answer(transport: asyncio.Transport, status: int, text: str, retry_after: int = 0) -> None:
    """Write a complete response outside the HTTP state machine, then close."""
    body = (text + "\n").encode()
    head = [
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
        "content-type: text/plain; charset=utf-8",
        f"content-length: {len(body)}",
        "connection: close",
    ]
    if retry_after:
        head.append(f"retry-after: {retry_after}")
    transport.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    transport.close()
    # Over TLS, close() waits up to 30 s for the client's close_notify, which a hostile
    # client never sends: the answer is out by then, so end the connection regardless.
    asyncio.get_running_loop().call_later(ABORT_AFTER_S, transport.abort)


class GuardedHttpProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with the request head deadline and the address cap."""

    guard: ClassVar[ConnectionGuard]

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._address = _address_of(self.client)
        self._deadline: asyncio.TimerHandle | None = None
        self._upgraded = False
        self._admitted = False
        self._answered = False
        refused = self.guard.admit(self._address, transport)
        if refused is not None:
            self._answer(503, refused, retry_after=5)
            return
        self._admitted = True
        self._arm()

    def _answer(self, status: int, text: str, retry_after: int = 0) -> None:
        self._answered = True
        self.guard.answered(self.transport)
        _answer(self.transport, status, text, retry_after)

    def data_received(self, data: bytes) -> None:
        if not self._answered:  # bytes still in flight after a refusal go nowhere
            super().data_received(data)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(
            self.guard.limits.header_timeout_s, self._head_deadline, self.cycle
        )

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _head_deadline(self, cycle_when_armed: object) -> None:
        self._deadline = None
        if self._upgraded or self.transport.is_closing():
            return
        current = self.cycle
        if current is not cycle_when_armed or (
            current is not None and not current.response_complete
        ):
            return  # a request head arrived since; its response re-arms the deadline
        self.guard.timed_out(self._address)
        timeout = self.guard.limits.header_timeout_s
        self._answer(408, f"no complete request head within {timeout:g} s")

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and not self._upgraded:
            self._arm()

    def handle_websocket_upgrade(self, event: Any) -> None:
        # The WebSocket protocol takes the connection over, and counts it out at its end.
        self._upgraded = True
        self._disarm()
        super().handle_websocket_upgrade(event)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self.guard.lost(self.transport)
        if self._admitted and not self._upgraded:
            self.guard.leave(self._address, self.transport)
        super().connection_lost(exc)


class GuardedWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol with a small message limit until the app raises it."""

    guard: ClassVar[ConnectionGuard]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.full_max_size = self.conn.max_message_size
        self.conn.max_message_size = min(
            self.full_max_size or self.guard.limits.ws_pre_auth_max,
            self.guard.limits.ws_pre_auth_max,
        )

    def set_max_size(self, size: int) -> None:
        """Called by the app once it trusts the client (never above the server's limit)."""
        full = self.full_max_size
        self.conn.max_message_size = size if full is None else min(size, full)

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:
            ext: dict[str, Any] = {"set_max_size": self.set_max_size}
            scope["extensions"][WS_EXTENSION] = ext

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.guard.leave(_address_of(self.client), self.transport)
        super().connection_lost(exc)


def raise_ws_limit(scope: dict[str, Any] | Any, size: int) -> bool:
    """Let an authenticated WebSocket send messages of up to ``size`` bytes; False when
    the server has no such extension (then its configured limit applies throughout)."""
    ext = (scope.get("extensions") or {}).get(WS_EXTENSION)
    setter: Callable[[int], None] | None = None if ext is None else ext.get("set_max_size")
    if setter is None:
        return False
    setter(size)
    return True


def protocols(guard: ConnectionGuard) -> tuple[type[H11Protocol], type[WebSocketsSansIOProtocol]]:
    """Protocol classes for one server, bound to its guard (uvicorn builds them itself)."""
    http = type("CamhubHttpProtocol", (GuardedHttpProtocol,), {"guard": guard})
    ws = type("CamhubWebSocketProtocol", (GuardedWebSocketProtocol,), {"guard": guard})
    return http, ws
