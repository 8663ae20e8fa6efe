"""Small helpers shared by the source tests."""

from __future__ import annotations

from camhub.sources import ThreadedSource
from camhub.types import Frame


def read_n(source: ThreadedSource, n: int, timeout: float = 10.0) -> list[Frame]:
    """``n`` frames, each within ``timeout`` seconds."""
    return [source.read(timeout=timeout) for _ in range(n)]
