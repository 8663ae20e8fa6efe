"""A connection flood from its own process, as an attacker would send it: raw TLS
connections that ask for the WebSocket upgrade, read the status line and hang up.

    python -m tests.phones.flood HOST PORT CAFILE COUNT

prints a JSON summary: how many answers of each HTTP status, and errors by type."""

from __future__ import annotations

import base64
import json
import os
import socket
import ssl
import sys
import time


def attempt(host: str, port: int, ctx: ssl.SSLContext) -> str:
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /cam/ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    try:
        with (
            socket.create_connection((host, port), timeout=5) as raw,
            ctx.wrap_socket(raw, server_hostname=host) as tls,
        ):
            tls.sendall(request)
            head = b""
            while b"\r\n" not in head and len(head) < 4096:
                chunk = tls.recv(4096)
                if not chunk:
                    return "closed without an answer"
                head += chunk
            return "http " + head.split(b" ", 2)[1].decode()
    except (OSError, IndexError, UnicodeDecodeError) as exc:
        return type(exc).__name__


def main() -> None:
    host, port, cafile, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    ctx = ssl.create_default_context(cafile=cafile)
    outcomes: dict[str, float] = {}
    started = time.monotonic()
    for _ in range(count):
        key = attempt(host, port, ctx)
        outcomes[key] = outcomes.get(key, 0) + 1
    outcomes["seconds"] = round(time.monotonic() - started, 2)
    print(json.dumps(outcomes))


if __name__ == "__main__":
    main()
