"""ZeroMQ plumbing shared by senders and hubs: one context per process, sockets that
always have LINGER and high-water marks set, and endpoint validation with clear errors."""

from __future__ import annotations

import re
from typing import Protocol

import zmq

from camhub.types import CamhubError

_ENDPOINT = re.compile(
    r"^(tcp://(\*|\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.\-]+):(\d{1,5}|\*)|ipc://.+|inproc://.+)$"
)


class AddressError(CamhubError, ValueError):
    """An endpoint string is not a usable ZeroMQ address."""


class SocketSecurity(Protocol):
    """Something that configures encryption/authentication on a socket before it is used
    (see :mod:`camhub.security`)."""

    def apply(self, socket: zmq.Socket[bytes], *, server: bool) -> None: ...


def context() -> zmq.Context[zmq.Socket[bytes]]:
    """The process-wide ZeroMQ context (ZeroMQ wants exactly one per process)."""
    return zmq.Context.instance()


def check_endpoint(endpoint: str, *, what: str = "address", bind: bool = False) -> str:
    """Return ``endpoint`` if it is well formed, else raise AddressError saying why."""
    if not isinstance(endpoint, str):
        raise AddressError(f"{what} must be a string like 'tcp://127.0.0.1:5555', got {endpoint!r}")
    match = _ENDPOINT.match(endpoint.strip())
    if match is None:
        raise AddressError(
            f"bad {what} {endpoint!r}: expected tcp://HOST:PORT (e.g. tcp://192.168.1.10:5555), "
            "ipc://PATH or inproc://NAME"
        )
    if match.group(3) in ("*", "0") and not bind:
        raise AddressError(f"bad {what} {endpoint!r}: a wildcard port only works for binding")
    if match.group(3) is not None and match.group(3) != "*":
        port = int(match.group(3))
        if not (0 < port < 65536 or (bind and port == 0)):
            raise AddressError(f"bad {what} {endpoint!r}: port {port} is outside 1..65535")
        if match.group(2) == "*" and not bind:
            raise AddressError(
                f"bad {what} {endpoint!r}: '*' means 'all interfaces' and only works for "
                "binding; connect to the hub's host name or IP address instead"
            )
    return endpoint.strip()


def new_socket(
    kind: int,
    *,
    hwm: int = 16,
    max_msg_size: int = -1,
    security: SocketSecurity | None = None,
    server: bool = False,
) -> zmq.Socket[bytes]:
    """A socket with LINGER 0 (close never blocks) and bounded queues."""
    sock = context().socket(kind)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SNDHWM, hwm)
    sock.setsockopt(zmq.RCVHWM, hwm)
    if max_msg_size > 0:
        sock.setsockopt(zmq.MAXMSGSIZE, max_msg_size)
    if security is not None:
        security.apply(sock, server=server)
    return sock


def peer_address(frame: zmq.Frame) -> str | None:
    """The remote address a received frame came from, when ZeroMQ knows it."""
    try:
        value = frame.get("Peer-Address")
    except (zmq.ZMQError, AttributeError):
        return None
    return str(value) if value else None
