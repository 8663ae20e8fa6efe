"""Per-camera and per-peer bookkeeping kept by the hub: latest frame, counters, rates."""

from __future__ import annotations

import time
from dataclasses import dataclass

from camhub.types import CameraName, CameraStats, Encoding, Frame


class RateMeter:
    """Frames/s and bytes/s over roughly the last two seconds, O(1) per update."""

    WINDOW = 1.0

    def __init__(self) -> None:
        self._start = time.monotonic()
        self._frames = 0
        self._bytes = 0
        self.fps = 0.0
        self.bps = 0.0

    def add(self, nbytes: int, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._frames += 1
        self._bytes += nbytes
        self._roll(now)

    def _roll(self, now: float) -> None:
        elapsed = now - self._start
        if elapsed >= self.WINDOW:
            self.fps = self._frames / elapsed
            self.bps = self._bytes / elapsed
            self._start, self._frames, self._bytes = now, 0, 0

    def read(self, now: float | None = None) -> tuple[float, float]:
        """Current (fps, bytes/s); decays to 0 when updates stop."""
        now = time.monotonic() if now is None else now
        idle = now - self._start
        if idle >= 2 * self.WINDOW:
            return self._frames / idle, self._bytes / idle
        return self.fps, self.bps


@dataclass(slots=True)
class PeerStats:
    """What one network peer sent; malformed traffic is attributed here, not to a camera."""

    peer: str
    messages: int = 0
    malformed: int = 0
    last_logged: float = 0.0


class CameraState:
    """Mutable state of one camera. The hub guards it with its lock."""

    __slots__ = (
        "bytes",
        "count",
        "dropped",
        "first_seen",
        "last_seen",
        "latest",
        "malformed",
        "name",
        "online",
        "peer",
        "rate",
        "unsupported",
    )

    def __init__(self, name: CameraName) -> None:
        self.name = name
        self.latest: Frame | None = None
        self.count = 0
        self.bytes = 0
        self.dropped = 0
        self.malformed = 0
        self.unsupported = 0
        self.first_seen = time.time()
        self.last_seen = self.first_seen
        self.online = True
        self.peer: str | None = None
        self.rate = RateMeter()

    def update(self, frame: Frame, peer: str) -> float | None:
        """Record a frame. Returns the outage length if the camera was offline until now."""
        prev = self.latest
        if (
            prev is not None
            and prev.seq is not None
            and frame.seq is not None
            and frame.seq > prev.seq + 1
        ):
            self.dropped += frame.seq - prev.seq - 1
        came_back = None if self.online else frame.received_at - self.last_seen
        self.online = True
        self.latest = frame
        self.count += 1
        if frame.payload is not None:
            self.unsupported += 1
        self.bytes += frame.nbytes
        self.last_seen = frame.received_at
        self.peer = peer
        self.rate.add(frame.nbytes)
        return came_back

    def snapshot(self, now: float) -> CameraStats:
        fps, bps = self.rate.read()
        latest = self.latest
        age = latest.age if latest is not None else None
        encoding: Encoding | None = latest.encoding if latest is not None else None
        return CameraStats(
            name=self.name,
            online=self.online,
            frames=self.count,
            bytes=self.bytes,
            fps=round(fps, 2),
            kbps=round(bps * 8 / 1000, 1),
            dropped=self.dropped,
            malformed=self.malformed,
            first_seen=self.first_seen,
            last_seen=self.last_seen,
            age_ms=None if age is None else round(age * 1000, 1),
            width=latest.width if latest is not None else None,
            height=latest.height if latest is not None else None,
            encoding=encoding,
            peer=self.peer,
            unsupported=self.unsupported,
        )
