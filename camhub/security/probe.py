"""What answers at a hub's address: a ZeroMQ peer (and with which security mechanism),
something else, or nothing.

libzmq reports a handshake that ended before it began (``HANDSHAKE_FAILED_NO_DETAIL``)
the same way whether a CURVE hub hung up on a plain sender or an SSH tunnel, a
container's port proxy or another program accepted the TCP connection with no hub behind
it. A sender that cannot tell them apart sends its user after keys when the hub is simply
not there. This module opens one plain TCP connection, reads the peer's ZMTP greeting and
says which it is. It is only used after a failure, never per frame.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import Literal

ProbeKind = Literal["zmtp", "refused", "unreachable", "closed", "silent", "other", "skipped"]

_SIGNATURE_LEN = 10
_GREETING_LEN = 64
# The start of a ZMTP 3.0 greeting: signature, major version 3.
_GREETING = b"\xff" + bytes(8) + b"\x7f" + b"\x03"


@dataclass(frozen=True, slots=True)
class Probe:
    kind: ProbeKind
    detail: str = ""
    """``zmtp``: the peer's security mechanism (``NULL``, ``CURVE``, ``PLAIN``);
    ``other``: the first printable bytes the peer sent; otherwise why."""

    def reason(self) -> str:
        """What answers at the address, as a clause a person can act on."""
        proxy = "(an SSH tunnel or port proxy with no hub behind it?)"
        if self.kind == "refused":
            return "nothing listens there (connection refused): is `camhub hub` running?"
        if self.kind == "unreachable":
            return f"it cannot be reached ({self.detail})"
        if self.kind == "closed":
            return f"something accepted the connection and closed it at once: not a hub {proxy}"
        if self.kind == "silent":
            return f"something accepted the connection but does not speak ZeroMQ {proxy}"
        if self.kind == "other":
            return f"it is not a hub: it answered {self.detail!r}"
        if self.kind == "zmtp":
            return f"a ZeroMQ peer answers there (security: {self.detail})"
        return f"not probed ({self.detail})"


def probe(address: str, timeout: float = 1.0) -> Probe:
    """Connect to a ``tcp://host:port`` address once and classify what answers."""
    if not address.startswith("tcp://"):
        return Probe("skipped", "not a TCP address")
    host, _, port = address[len("tcp://") :].rpartition(":")
    host = host.strip("[]")
    if host in ("*", "0.0.0.0", ""):
        host = "127.0.0.1"
    try:
        port_number = int(port)
    except ValueError:
        return Probe("skipped", f"no port in {address!r}")
    deadline = time.monotonic() + timeout
    try:
        conn = socket.create_connection((host, port_number), timeout=timeout)
    except ConnectionRefusedError:
        return Probe("refused")
    except OSError as exc:
        return Probe("unreachable", exc.strerror or type(exc).__name__)
    with conn:
        first = _read(conn, _SIGNATURE_LEN, deadline)
        if first is None:
            return Probe("silent")
        if not first:
            return Probe("closed")
        if len(first) < _SIGNATURE_LEN or first[0] != 0xFF or first[9] != 0x7F:
            if b"\n" not in first:  # a banner: quote its first line
                first += _read(conn, 40 - len(first), min(deadline, time.monotonic() + 0.1)) or b""
            text = first.split(b"\r\n")[0].decode("ascii", "replace")
            shown = "".join(c if c.isprintable() else "." for c in text)
            return Probe("other", shown[:40])
        try:
            # Signature and major version only: the peer then sends the rest of its
            # greeting, its mechanism included, and we hang up before it reads ours (a
            # full greeting with a mechanism it refuses makes it hang up first).
            conn.sendall(_GREETING)
        except OSError:
            return Probe("zmtp", "unknown")
        rest = _read(conn, _GREETING_LEN - _SIGNATURE_LEN, deadline)
        if not rest or len(rest) < 22:
            return Probe("zmtp", "unknown (ZMTP 1.0 or 2.0)")
        return Probe("zmtp", rest[2:22].rstrip(b"\0").decode("ascii", "replace") or "unknown")


def _read(conn: socket.socket, count: int, deadline: float) -> bytes | None:
    """Up to ``count`` bytes; ``b""`` if the peer closed first, ``None`` if it said
    nothing before ``deadline``."""
    data = b""
    while len(data) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        conn.settimeout(left)
        try:
            chunk = conn.recv(count - len(data))
        except TimeoutError:
            break
        except OSError:
            return data
        if not chunk:
            return data
        data += chunk
    return data or None
