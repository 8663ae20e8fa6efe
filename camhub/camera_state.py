"""Per-camera and per-peer bookkeeping kept by the hub: latest frame, counters, rates."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from camhub.types import CameraName, CameraStats, Encoding, Frame

if TYPE_CHECKING:
    from camhub.video.track import VideoTrack


class RateMeter:
    """Frames/s and bytes/s over the last ``WINDOW`` seconds, O(1) per update.

    Counts go into ``BUCKETS`` time buckets; a read sums the buckets still inside the
    window, so once frames stop the rates fall to exactly 0 within ``WINDOW`` seconds
    (an alert on ``fps == 0`` must fire for a camera that went quiet).
    """

    WINDOW = 2.0
    BUCKETS = 10

    def __init__(self, now: float | None = None) -> None:
        self._width = self.WINDOW / self.BUCKETS
        self._start = time.monotonic() if now is None else now
        self._index = [-1] * self.BUCKETS
        self._frames = [0] * self.BUCKETS
        self._bytes = [0] * self.BUCKETS

    def add(self, nbytes: int, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        index = int(now / self._width)
        slot = index % self.BUCKETS
        if self._index[slot] != index:
            self._index[slot], self._frames[slot], self._bytes[slot] = index, 0, 0
        self._frames[slot] += 1
        self._bytes[slot] += nbytes

    def read(self, now: float | None = None) -> tuple[float, float]:
        """Current (fps, bytes/s); 0 once no frame arrived for ``WINDOW`` seconds."""
        now = time.monotonic() if now is None else now
        current = int(now / self._width)
        frames = nbytes = 0
        for slot in range(self.BUCKETS):
            if 0 <= current - self._index[slot] < self.BUCKETS:
                frames += self._frames[slot]
                nbytes += self._bytes[slot]
        if not frames:
            return 0.0, 0.0
        # The window reaches back to the start of the oldest bucket in it, but not to
        # before the meter existed (a young camera is not averaged over empty time).
        span = now - (current - self.BUCKETS + 1) * self._width
        span = max(min(span, now - self._start), self._width)
        return frames / span, nbytes / span


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
        "picture",
        "picture_count",
        "rate",
        "reason",
        "source",
        "track",
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
        self.source: str | None = None
        """Where the hub pulls this camera from, for cameras it reads itself."""
        self.reason: str | None = None
        """Why the camera is not streaming, when something knows."""
        self.picture: Frame | None = None
        """The newest frame with a picture: the latest frame of a JPEG or raw camera; of a
        video camera, the newest its decoder has decoded (with ``array`` set)."""
        self.picture_count = 0
        """The camera's frame count when :attr:`picture`'s frame arrived."""
        self.track: VideoTrack | None = None
        """The camera's video state, once it sent video."""

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
        # An offline camera sends nothing: say 0, whatever the last window held.
        fps, bps = self.rate.read() if self.online else (0.0, 0.0)
        latest = self.latest
        age = latest.age if latest is not None else None
        encoding: Encoding | None = latest.encoding if latest is not None else None
        track = self.track
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
            source=self.source,
            reason=self.reason,
            unsupported=self.unsupported,
            broken=0 if track is None else track.broken,
            undecoded=0 if track is None else track.undecoded,
            gop_cut=0 if track is None else track.gop_cut,
            decoding=track is not None and track.decoding,
        )
