"""Small helpers shared by the source tests."""

from __future__ import annotations

import time

from camhub.sources import ThreadedSource
from camhub.types import Frame


def read_n(source: ThreadedSource, n: int, timeout: float = 10.0) -> list[Frame]:
    """``n`` frames, each within ``timeout`` seconds."""
    return [source.read(timeout=timeout) for _ in range(n)]


def wait_until(predicate: object, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return True
        time.sleep(interval)
    return bool(callable(predicate) and predicate())
