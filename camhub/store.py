"""The camera store: per-camera state, the newest frame of every camera, and the ways
consumers read it.

Every ingest path (the ZeroMQ receiver, cameras the hub pulls itself, browser phones)
calls :meth:`CameraStore.put`. Consumers never hold up ``put``:

* latest-frame readers (dashboard, display, processors) use :meth:`latest`,
  :meth:`wait_newer` or :meth:`frames` and skip what they had no time for;
* per-frame consumers (the recorder) take a :meth:`subscribe` queue, bounded, which
  drops its oldest frame when its consumer falls behind and counts the drop (for video,
  with the P-frames that depend on it: a :class:`~camhub.video.gop.GopQueue`).

Video cameras (frames with ``Frame.video``) are decoded only while someone wants their
pictures (:mod:`camhub.video.track`): the latest-frame readers :meth:`wait_newer` and
:meth:`frames` start the camera's decoder and get the frames it decoded; :meth:`latest`
and ``Frame.image`` of any of the camera's frames start it too. Decoding happens on the
camera's own thread, never in :meth:`put`.

Camera events (new, offline, online) go out on the :class:`~camhub.bus.EventBus`, off the
receive thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from camhub.bus import EventBus
from camhub.camera_state import CameraState
from camhub.errors import SlotClosed
from camhub.types import ArgumentError, CameraName, CameraStats, Frame, HubEvent, ReceiveTimeout
from camhub.video.gop import GopQueue
from camhub.video.track import VideoSettings, VideoTrack

log = logging.getLogger("camhub.hub")


@dataclass(frozen=True, slots=True)
class SubscriptionStats:
    """A per-frame subscription: frames handed over, lost to a slow consumer, waiting."""

    name: str
    delivered: int
    dropped: int
    pending: int
    maxsize: int


class FrameSubscription:
    """Every frame of the chosen cameras, in arrival order, through a bounded queue."""

    def __init__(
        self,
        store: CameraStore,
        cameras: Iterable[CameraName] | None,
        maxsize: int,
        name: str,
    ) -> None:
        if maxsize < 1:
            raise ArgumentError(f"maxsize must be at least 1, got {maxsize}")
        self._store = store
        self.cameras = None if cameras is None else frozenset(cameras)
        self.maxsize = maxsize
        self.name = name
        self._queue = GopQueue(maxsize, 2**62, supersede=False)
        self.closed = False
        self.delivered = 0
        self.dropped = 0
        """Frames lost because the consumer fell ``maxsize`` frames behind (for video,
        with the rest of their group: what is delivered always decodes)."""

    def offer(self, frame: Frame) -> None:
        # Runs on the ingest thread: never waits for the consumer.
        if self.cameras is not None and frame.name not in self.cameras:
            return
        dropped = self._queue.put(frame)
        if dropped:
            self.dropped += len(dropped)

    def get(self, timeout: float | None = None) -> Frame | None:
        """The next frame, or ``None`` after ``timeout`` s or once closed."""
        try:
            frame = self._queue.get(timeout)
        except (ReceiveTimeout, SlotClosed):
            return None
        self.delivered += 1
        return frame

    def __iter__(self) -> Iterator[Frame]:
        while not self.closed:
            frame = self.get(0.25)
            if frame is not None:
                yield frame

    @property
    def pending(self) -> int:
        return len(self._queue)

    def close(self) -> None:
        self.closed = True
        self._queue.close()
        self._store._unsubscribe(self)

    def stats(self) -> SubscriptionStats:
        return SubscriptionStats(
            self.name, self.delivered, self.dropped, self.pending, self.maxsize
        )


class CameraStore:
    """Implements :class:`~camhub.types.FrameStore`; see the module docstring."""

    def __init__(
        self,
        bus: EventBus | None = None,
        *,
        offline_after: float = 5.0,
        video: VideoSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bus = bus if bus is not None else EventBus()
        self.offline_after = offline_after
        self.video = video or VideoSettings()
        self._clock = clock
        """When video decoders were last wanted (injectable for tests of the idle stop)."""
        self._cond = threading.Condition()
        self._cameras: dict[CameraName, CameraState] = {}
        self._subs: tuple[FrameSubscription, ...] = ()
        self._stop = threading.Event()
        self._watch: threading.Thread | None = None

    # -- life cycle -------------------------------------------------------------------

    def start(self) -> CameraStore:
        """Start the offline watch (a camera with no frame for ``offline_after`` s)."""
        if self._watch is None:
            self._watch = threading.Thread(
                target=self._watch_offline, name="camhub-offline", daemon=True
            )
            self._watch.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        for sub in self._subs:
            sub.close()
        for state in list(self._cameras.values()):
            if state.track is not None:
                state.track.stop()
        if self._watch is not None:
            self._watch.join(timeout=2)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def _watch_offline(self) -> None:
        while not self._stop.wait(0.25):
            self.check_offline()

    # -- ingest -------------------------------------------------------------------------

    def put(self, frame: Frame, peer: str) -> None:
        """Take a frame from any ingest path; never blocks on a consumer."""
        with self._cond:
            state = self._cameras.get(frame.name)
            new = state is None or state.count == 0
            if state is None:
                state = self._cameras[frame.name] = CameraState(frame.name)
            came_back = state.update(frame, peer)
            state.reason = None  # it streams: whatever stopped it is over
            if frame.video is not None:
                track = state.track
                if track is None:
                    track = state.track = self._new_track(state)
                track.add(frame, state.count)
            else:
                if state.track is not None:
                    state.track.interrupt(state.count)
                state.picture, state.picture_count = frame, state.count
            self._cond.notify_all()
        for sub in self._subs:  # a tuple swapped whole: no lock needed to read it
            sub.offer(frame)
        if new:
            log.info("camera %s connected from %s", frame.name, peer)
            self.bus.publish(HubEvent("camera_new", frame.name, frame.received_at, peer))
        elif came_back is not None:
            log.info("camera %s back online after %.1f s", frame.name, came_back)
            self.bus.publish(HubEvent("camera_online", frame.name, frame.received_at, peer))

    def _new_track(self, state: CameraState) -> VideoTrack:
        def publish(picture: Frame, count: int) -> None:  # store lock held
            if count > state.picture_count:
                state.picture, state.picture_count = picture, count
                self._cond.notify_all()

        return VideoTrack(state.name, self._cond, publish, self.video, clock=self._clock)

    def _demand(self, names: Iterable[CameraName]) -> None:
        """Picture readers want these cameras: keep their video decoders running."""
        for name in names:
            state = self._cameras.get(name)
            if state is not None and state.track is not None:
                state.track.demand()

    def count_malformed(self, name: CameraName) -> bool:
        """Count a frame naming camera ``name`` that an ingest path refused as malformed
        (``CameraStats.malformed``). Only a camera the hub knows is counted: garbage does
        not make a camera (the peer's counters have it). Returns whether it counted."""
        with self._cond:
            state = self._cameras.get(name)
            if state is None:
                return False
            state.malformed += 1
            return True

    def declare(self, name: CameraName, *, source: str | None = None) -> None:
        """Make a configured camera known before its first frame (shown as not streaming)."""
        with self._cond:
            state = self._cameras.get(name)
            if state is None:
                state = self._cameras[name] = CameraState(name)
                state.online = False
            state.source = source
            self._cond.notify_all()

    def set_reason(self, name: CameraName, reason: str | None) -> None:
        """Why a camera is not streaming (``None`` once it streams again)."""
        with self._cond:
            state = self._cameras.get(name)
            if state is None:
                state = self._cameras[name] = CameraState(name)
                state.online = False
            state.reason = reason

    def check_offline(self, now: float | None = None) -> None:
        """Mark cameras with no frame for ``offline_after`` s offline (the watch calls it
        every so often; a test passes ``now``, wall-clock time like ``Frame.received_at``)."""
        now = time.time() if now is None else now
        gone: list[CameraState] = []
        with self._cond:
            for state in self._cameras.values():
                if state.online and now - state.last_seen > self.offline_after:
                    state.online = False
                    gone.append(state)
        for state in gone:
            since = time.strftime("%H:%M:%S", time.localtime(state.last_seen))
            log.warning(
                "camera %s offline since %s (no frames for %.0f s)",
                state.name,
                since,
                self.offline_after,
            )
            self.bus.publish(HubEvent("camera_offline", state.name, now, f"last frame at {since}"))

    # -- per-frame subscriptions ---------------------------------------------------------

    def subscribe(
        self, cameras: Iterable[CameraName] | None = None, maxsize: int = 64, name: str = ""
    ) -> FrameSubscription:
        """Every frame from now on (of ``cameras``, or all), through a queue of
        ``maxsize`` frames; when the consumer falls behind the oldest is dropped and counted."""
        sub = FrameSubscription(self, cameras, maxsize, name or "subscriber")
        with self._cond:
            self._subs = (*self._subs, sub)
        return sub

    def subscriptions(self) -> list[FrameSubscription]:
        return list(self._subs)

    def _unsubscribe(self, sub: FrameSubscription) -> None:
        with self._cond:
            self._subs = tuple(s for s in self._subs if s is not sub)

    # -- latest-frame readers (FrameStore) ---------------------------------------------

    def camera_names(self) -> list[CameraName]:
        with self._cond:
            return sorted(self._cameras)

    def latest(self, name: CameraName) -> Frame | None:
        """The camera's newest frame; of a video camera, the newest that can be decoded
        (its picture when the decoder already has it; its ``image`` decodes)."""
        with self._cond:
            state = self._cameras.get(name)
            if state is None:
                return None
            latest = state.latest
            if latest is not None and latest.video is not None and state.track is not None:
                return state.track.latest()
            return latest

    def watch_video(
        self, name: CameraName, maxsize: int = 64, label: str = ""
    ) -> tuple[FrameSubscription, list[Frame]]:
        """A subscription to camera ``name`` and, taken with it, the camera's current
        group of video frames from its keyframe to the newest (empty for a JPEG camera,
        or when the group lost a packet or outgrew what the hub keeps): where a live
        viewer starts at once, without waiting for the next keyframe and without
        decoding anything. The subscription's first frame may repeat the group's last
        (``put`` offers after it lets go of the lock); nothing older comes after it."""
        sub = FrameSubscription(self, (name,), maxsize, label or f"watch {name}")
        with self._cond:
            state = self._cameras.get(name)
            track = None if state is None else state.track
            gop = None if track is None else track.gop
            group = [] if gop is None or gop.cut or gop.broken else list(gop.frames)
            self._subs = (*self._subs, sub)
        return sub, group

    def stats(self) -> list[CameraStats]:
        now = time.time()
        with self._cond:
            return [self._cameras[n].snapshot(now) for n in sorted(self._cameras)]

    def camera_stats(self, name: CameraName) -> CameraStats | None:
        with self._cond:
            state = self._cameras.get(name)
            return None if state is None else state.snapshot(time.time())

    def counts(self) -> dict[CameraName, int]:
        """Frames received so far per camera (a cursor for :class:`FrameFeed`)."""
        with self._cond:
            return {name: state.count for name, state in self._cameras.items()}

    def wait_newer(self, name: CameraName, count: int, timeout: float) -> tuple[Frame, int] | None:
        """The camera's newest picture once one arrived after frame ``count`` (a count
        from an earlier call, or from :meth:`counts`), with its count; ``None`` after
        ``timeout`` s. For a video camera, the newest its decoder has decoded."""
        deadline = time.monotonic() + timeout
        self._demand((name,))
        with self._cond:
            while not self._stop.is_set():
                state = self._cameras.get(name)
                if state is not None and state.picture_count > count:
                    assert state.picture is not None
                    return state.picture, state.picture_count
                if state is not None and state.track is not None and not state.track.decoding:
                    state.track.demand()  # the camera turned to video while we waited
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(min(remaining, 0.5))
        return None

    def frames(
        self, cameras: Iterable[CameraName] | None = None, timeout: float | None = None
    ) -> FrameFeed:
        """Iterate over new frames as they arrive, newest per camera, cameras in turn.

        ``timeout`` ends the iteration when nothing new arrives for that long.
        """
        return FrameFeed(self, None if cameras is None else set(cameras), timeout)

    def next_for(
        self, cursor: dict[CameraName, int], wanted: set[CameraName] | None, timeout: float | None
    ) -> tuple[Frame, int] | None:
        """The stalest camera's newest frame past ``cursor`` and how many were skipped."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._stop.is_set():
                best: CameraState | None = None
                for name, state in self._cameras.items():
                    if wanted is not None and name not in wanted:
                        continue
                    if state.track is not None and not state.track.decoding:
                        state.track.demand()
                    if state.picture_count > cursor.get(name, 0) and (
                        best is None or state.last_seen < best.last_seen
                    ):
                        best = state
                if best is not None:
                    assert best.picture is not None
                    skipped = best.picture_count - cursor.get(best.name, 0) - 1
                    cursor[best.name] = best.picture_count
                    if best.track is not None:
                        best.track.demand()
                    return best.picture, skipped
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(0.5 if remaining is None else min(remaining, 0.5))
        return None


class FrameFeed:
    """An iterator of the newest frames; ``skipped`` counts frames it never handed out
    because newer ones had arrived (per camera)."""

    def __init__(
        self, store: CameraStore, wanted: set[CameraName] | None, timeout: float | None
    ) -> None:
        self._store = store
        self._wanted = wanted
        self._timeout = timeout
        # Frames that arrived before the feed existed are history, not skips: start
        # each known camera just before its latest frame.
        self._cursor = {name: count - 1 for name, count in store.counts().items() if count}
        self.skipped: dict[CameraName, int] = {}
        self.delivered = 0

    def __iter__(self) -> Iterator[Frame]:
        return self

    def __next__(self) -> Frame:
        try:
            return self.next(self._timeout)
        except TimeoutError:
            raise StopIteration from None

    def next(self, timeout: float | None = None) -> Frame:
        """The next new frame, waiting up to ``timeout`` s (``TimeoutError`` after that)."""
        got = self._store.next_for(self._cursor, self._wanted, timeout)
        if got is None:
            raise ReceiveTimeout("no new frame within the timeout")
        frame, skipped = got
        if skipped:
            self.skipped[frame.name] = self.skipped.get(frame.name, 0) + skipped
        self.delivered += 1
        return frame

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())
