"""ZeroMQ plumbing shared by senders and hubs: one context per process, sockets that
always have LINGER and high-water marks set, and endpoint validation with clear errors."""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

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


@runtime_checkable
class PeerGate(Protocol):
    """Security that can withdraw admission after the handshake (a revoked key): the hub
    asks it about every message it receives."""

    def admits(self, frame: zmq.Frame) -> bool: ...


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


_COPY_BELOW = 256 * 1024


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
    # pyzmq sends buffers above copy_threshold without copying, but then has its
    # garbage-collector thread release each one: for JPEG-sized frames that costs
    # more CPU than the copy. Raw 640x480 arrays (900 KB) still go zero-copy.
    sock.copy_threshold = _COPY_BELOW
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SNDHWM, hwm)
    sock.setsockopt(zmq.RCVHWM, hwm)
    if max_msg_size > 0:
        sock.setsockopt(zmq.MAXMSGSIZE, max_msg_size)
    if security is not None:
        security.apply(sock, server=server)
    return sock


# Plain ints: pyzmq's flag enums cost a microsecond or more per operation, and these
# run several times for every frame.
_POLLIN = int(zmq.POLLIN)
_LAST, _MORE = int(zmq.NOBLOCK), int(zmq.NOBLOCK | zmq.SNDMORE)


def readable(sock: zmq.Socket[bytes], timeout_ms: int = 0) -> bool:
    """Whether a message can be received within ``timeout_ms`` (0: right now).

    Cheaper than ``Socket.poll``, which builds a ``Poller`` on every call, and than
    catching ``zmq.Again`` from a non-blocking receive.
    """
    return bool(zmq.zmq_poll([(sock, _POLLIN)], timeout_ms))


def send_parts(sock: zmq.Socket[bytes], parts: Sequence[Any], *, copy: bool = False) -> None:
    """``sock.send_multipart(parts, zmq.NOBLOCK, copy=copy)`` minus its per-part enum
    arithmetic. Raises ``zmq.Again`` if the first part cannot be queued; ZeroMQ queues a
    multipart message atomically, so the later parts then always go."""
    last = len(parts) - 1
    for i, part in enumerate(parts):
        sock.send(part, _LAST if i == last else _MORE, copy=copy)


def recv_parts(sock: zmq.Socket[bytes], *, wait: bool = False) -> list[zmq.Frame]:
    """``sock.recv_multipart(zmq.NOBLOCK, copy=False)``, about twice as fast: it follows
    ``Frame.more`` instead of asking the socket for RCVMORE after every part.

    ``wait=True`` blocks for the first part up to the socket's RCVTIMEO; ZeroMQ delivers
    a multipart message whole, so the later parts are always there at once.
    """
    part = sock.recv(0 if wait else _LAST, copy=False)
    parts = [part]
    while part.more:
        part = sock.recv(_LAST, copy=False)
        parts.append(part)
    return parts


def peer_address(frame: zmq.Frame) -> str | None:
    """The remote address a received frame came from, when ZeroMQ knows it."""
    try:
        value = frame.get("Peer-Address")
    except (zmq.ZMQError, AttributeError):
        return None
    return str(value) if value else None


_MONITOR_HEAD = struct.Struct("=Hi")


def monitor_event(msg: Sequence[bytes]) -> tuple[int, int, bytes]:
    """``(event, value, endpoint)`` of one message from a ZeroMQ socket monitor.

    libzmq's format: a 6-byte frame holding the event id (uint16) and its value (int32)
    in native byte order, then the endpoint. Parsed here rather than with
    ``zmq.utils.monitor``, which imports asyncio and doubles ``import camhub``'s time.
    Anything else reads as event 0, which no one watches.
    """
    if len(msg) != 2 or len(msg[0]) != _MONITOR_HEAD.size:
        return 0, 0, b""
    event, value = _MONITOR_HEAD.unpack(msg[0])
    return event, value, bytes(msg[1])
