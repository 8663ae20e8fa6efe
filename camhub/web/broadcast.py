"""Fan-out of camera pictures to any number of browser/MJPEG viewers at the cost of one.

Threads (the hub pump, processor workers) publish pictures; the event loop keeps only the
newest picture per (camera, view) and wakes the viewers that watch it. A viewer that is
slow to send just finds a newer picture when it is ready again: it skips, it never
queues, and it never makes the hub do more work. Pictures are the JPEG bytes as the hub
received them (live view) or as a processor produced them: nothing is re-encoded per viewer.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

from camhub.types import CameraName, Frame, HubView

LIVE = "live"

Key = tuple[CameraName, str]
"""(camera, view); the view is ``"live"`` or a processor's name."""


@dataclass(frozen=True, slots=True)
class Picture:
    camera: CameraName
    view: str
    seq: int
    """Increases with each picture of this (camera, view)."""
    jpeg: bytes
    at: float


class Subscription:
    """One viewer's interest; ``wants`` picks the keys it gets."""

    def __init__(self, wants: Callable[[Key], bool], max_fps: float) -> None:
        self.wants = wants
        self.min_interval = 1.0 / max_fps if max_fps > 0 else 0.0
        self.event = asyncio.Event()
        self.sent: dict[Key, int] = {}
        self.last_sent: dict[Key, float] = {}
        self.skipped = 0


class Broadcaster:
    """Lives on one event loop; ``publish_threadsafe`` may be called from any thread."""

    def __init__(self, seed: Callable[[Broadcaster], None] | None = None) -> None:
        self._seed = seed
        self._loop: asyncio.AbstractEventLoop | None = None
        self._latest: dict[Key, Picture] = {}
        self._subs: list[Subscription] = []
        self._seq: dict[Key, int] = {}
        self._closed = False
        self.watching = threading.Event()
        """Set while at least one viewer is connected (lets the pump sleep otherwise)."""
        self.published = 0
        self.skipped_total = 0
        self.sent_total = 0

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        return self._loop

    @property
    def viewers(self) -> int:
        return len(self._subs)

    def has_viewer_for(self, key: Key) -> bool:
        return any(sub.wants(key) for sub in list(self._subs))

    def publish_threadsafe(self, camera: CameraName, view: str, jpeg: bytes, at: float) -> None:
        loop = self._loop
        if loop is None or self._closed:
            return
        try:
            loop.call_soon_threadsafe(self.publish, camera, view, jpeg, at)
        except RuntimeError:  # loop closed during shutdown
            pass

    def latest_at(self, key: Key) -> float | None:
        pic = self._latest.get(key)
        return None if pic is None else pic.at

    def publish(self, camera: CameraName, view: str, jpeg: bytes, at: float) -> None:
        """Store and announce a picture (on the loop; also used by the seed)."""
        key = (camera, view)
        seq = self._seq[key] = self._seq.get(key, 0) + 1
        self._latest[key] = Picture(camera, view, seq, jpeg, at)
        self.published += 1
        for sub in self._subs:
            if sub.wants(key):
                sub.event.set()

    def close(self) -> None:
        """End every viewer's stream (called on the loop, before the server stops)."""
        self._closed = True
        for sub in self._subs:
            sub.event.set()

    async def pictures(
        self, wants: Callable[[Key], bool], *, max_fps: float = 0.0
    ) -> AsyncIterator[Picture]:
        """Yield the newest picture of each wanted key whenever it changes, at most
        ``max_fps`` per key (0: as fast as they come)."""
        sub = Subscription(wants, max_fps)
        self._subs.append(sub)
        self.watching.set()
        if self._seed is not None:
            # Pictures published while nobody watched were not kept; fetch the current ones.
            self._seed(self)
        sub.event.set()  # send what we already have at once
        loop = asyncio.get_running_loop()
        try:
            while not self._closed:
                await sub.event.wait()
                sub.event.clear()
                if self._closed:
                    break
                now = time.monotonic()
                wake_in = None
                for key, pic in list(self._latest.items()):
                    if not sub.wants(key) or sub.sent.get(key) == pic.seq:
                        continue
                    due = sub.last_sent.get(key, 0.0) + sub.min_interval
                    if due > now:
                        wake_in = due - now if wake_in is None else min(wake_in, due - now)
                        continue
                    previous = sub.sent.get(key)
                    if previous is not None and pic.seq > previous + 1:
                        skipped = pic.seq - previous - 1
                        sub.skipped += skipped
                        self.skipped_total += skipped
                    sub.sent[key] = pic.seq
                    sub.last_sent[key] = now
                    self.sent_total += 1
                    yield pic
                if wake_in is not None:
                    loop.call_later(wake_in, sub.event.set)
        finally:
            self._subs.remove(sub)
            if not self._subs:
                self.watching.clear()


class HubPump:
    """One thread that forwards the hub's new live frames to the broadcaster while anyone
    watches. Frames that arrived as raw arrays are JPEG-encoded here, once per frame
    and only when watched; JPEG frames are forwarded as the very bytes received. Only the
    cameras somebody watches are read: a video camera's pictures are decoded for it
    (and then encoded) only while its JPEG picture has a viewer."""

    RECHECK_S = 0.5
    """How often the set of watched cameras is looked at again."""

    def __init__(self, hub: HubView, broadcaster: Broadcaster) -> None:
        self.hub = hub
        self.broadcaster = broadcaster
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="camhub-web-pump", daemon=True)

    def start(self) -> HubPump:
        self._thread.start()
        return self

    def _watched(self) -> frozenset[CameraName]:
        bc = self.broadcaster
        return frozenset(n for n in self.hub.camera_names() if bc.has_viewer_for((n, LIVE)))

    def _run(self) -> None:
        feed: Iterator[Frame] | None = None
        bc = self.broadcaster
        watched: frozenset[CameraName] = frozenset()
        checked = 0.0
        while not self._stop.is_set():
            if not bc.watching.wait(0.25):
                feed = None  # nobody watches: forget the cursor, sleep
                continue
            now = time.monotonic()
            if feed is None or now - checked > self.RECHECK_S:
                checked = now
                cameras = self._watched()
                if feed is None or cameras != watched:
                    watched = cameras
                    feed = self.hub.frames(watched, timeout=0.25) if watched else None
            if feed is None:
                self._stop.wait(0.1)  # viewers of other views (processors, objects) only
                continue
            frame = next(feed, None)
            if frame is None:
                self._stop.wait(0.02)  # the hub may have stopped: do not spin
                continue
            if not bc.has_viewer_for((frame.name, LIVE)):
                continue
            try:
                jpeg = frame.to_jpeg()
            except Exception:  # an undecodable raw frame must not stop the dashboard
                continue
            bc.publish_threadsafe(frame.name, LIVE, jpeg, frame.received_at)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
