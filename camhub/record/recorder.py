"""The recorder: every frame of the cameras it records, written as segments off the
ingest path.

It reads a bounded per-frame subscription (``store.subscribe``): when the disk or this
thread is slow, the subscription drops the oldest frames and counts them, and ingest
never waits. Events arrive from the bus. In ``events`` mode each camera keeps a ring of
its last ``pre_roll`` seconds (all rings together capped at ``preroll_mb``); when an
event starts, the ring is written first, so the recording begins before the trigger.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import shutil
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from camhub.bus import BusSubscription, EventBus
from camhub.datadir import private_dir
from camhub.events.model import EventUpdate
from camhub.record.index import SegmentIndex
from camhub.record.segment import SegmentWriter
from camhub.record.settings import CameraRecording, RecordSettings
from camhub.types import CameraName, Frame

log = logging.getLogger("camhub.record")

TRIGGER_LATENCY = 5.0
"""Seconds the ring keeps beyond ``pre_roll``: an event reaches the recorder a little
after it starts (a detector needs a few frames), and its pre-roll is counted from its
start."""

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class Subscription(Protocol):
    """What the recorder reads: :meth:`CameraStore.subscribe`'s
    :class:`~camhub.store.FrameSubscription` (every frame, bounded, drops counted)."""

    @property
    def dropped(self) -> int: ...

    def get(self, timeout: float | None = None) -> Frame | None: ...

    def close(self) -> None: ...


def camera_dir(camera: CameraName) -> str:
    """A directory name for ``camera``: readable, safe, and unique (hash suffix)."""
    safe = _UNSAFE.sub("_", camera).strip("._")[:40] or "camera"
    return f"{safe}-{hashlib.sha1(camera.encode()).hexdigest()[:8]}"


@dataclass(slots=True)
class CameraRecorderStats:
    camera: CameraName
    mode: str
    recording: bool = False
    frames: int = 0
    bytes: int = 0
    segments: int = 0
    errors: int = 0
    last_error: str | None = None
    unrecordable: int = 0
    """Frames with no picture form (a sender's own payload format, an odd raw array)."""

    def as_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__slots__}


@dataclass(frozen=True, slots=True)
class RecorderStats:
    """The recorder as a whole, and each camera it has seen."""

    seen: int
    """Frames read from the store."""
    dropped: int
    """Frames lost because the recorder fell behind (its subscription's drops)."""
    preroll_bytes: int
    preroll_dropped: int
    deleted: int
    """Segments deleted by retention."""
    recovered: int
    disk_error: str | None
    cameras: list[CameraRecorderStats]

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


@dataclass(slots=True)
class _Camera:
    name: CameraName
    settings: CameraRecording
    stats: CameraRecorderStats
    ring: deque[tuple[float, bytes]] = field(default_factory=deque)
    ring_bytes: int = 0
    writer: SegmentWriter | None = None
    segment_id: int = 0
    active: set[str] = field(default_factory=set)
    until: float = 0.0
    retry_at: float = 0.0
    written_at: float = 0.0
    """``time.monotonic()`` of the last write (frame times may come from another clock)."""


class Recorder:
    """``Recorder(subscription, bus, SegmentIndex.open(data_dir), settings).start()``;
    ``stop()`` closes every open segment so it is complete on disk and in the index (the
    index stays open for playback; its owner closes it)."""

    def __init__(
        self,
        frames: Subscription,
        bus: EventBus | None,
        index: SegmentIndex,
        settings: RecordSettings,
    ) -> None:
        self.frames = frames
        self.bus = bus
        self.settings = settings
        self.index = index
        self.root = index.root
        self.recovered = self.index.recover()
        self._cameras: dict[CameraName, _Camera] = {}
        self._lock = threading.Lock()
        # Bounded like everything else; appends and pops are atomic on a deque.
        self._triggers: deque[EventUpdate] = deque(maxlen=4096)
        self.triggers_dropped = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._events: BusSubscription | None = None
        self.ring_bytes = 0
        self.ring_dropped = 0
        """Pre-roll frames evicted early because all rings together hit ``preroll_mb``."""
        self.deleted = 0
        self.seen = 0
        """Frames taken from the subscription (recorded or not)."""
        self.disk_error: str | None = None
        """Set while free disk is below ``min_free_gb``: nothing is recorded."""
        self._next_maintenance = 0.0

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> Recorder:
        if self._thread is None:
            if self.bus is not None:
                self._events = self.bus.subscribe(
                    self._trigger, name="recorder", kinds=(EventUpdate,)
                )
            self._thread = threading.Thread(target=self._run, name="camhub-recorder", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._events is not None:
            self._events.close()
        if self._thread is not None:
            self._thread.join(timeout)
        self.frames.close()
        with self._lock:
            cams = list(self._cameras.values())
        for cam in cams:
            self._close_segment(cam)

    # -- the recorder thread -----------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            frame = self.frames.get(timeout=0.2)
            # Triggers after the wait: an event published before a frame was put is
            # always seen before that frame is handled.
            self._take_triggers()
            now = time.time()
            # Maintenance (retention, the free-disk guard) before the frame: the very
            # first frame must not reach a disk that is already too full.
            if now >= self._next_maintenance:
                self._next_maintenance = now + 5.0
                self._maintain(now)
            if frame is not None:
                self.seen += 1
                try:
                    self._on_frame(frame)
                except Exception:  # one camera's bad frame must not end recording
                    log.exception("recorder failed on a frame of camera %s", frame.name)
        self._take_triggers()

    def _camera(self, name: CameraName) -> _Camera:
        cam = self._cameras.get(name)
        if cam is None:
            settings = self.settings.for_camera(name)
            cam = _Camera(name, settings, CameraRecorderStats(name, settings.mode))
            with self._lock:
                self._cameras[name] = cam
        return cam

    def _trigger(self, update: EventUpdate) -> None:
        if len(self._triggers) == self._triggers.maxlen:
            self.triggers_dropped += 1  # the recorder thread is stuck: the oldest go
        self._triggers.append(update)

    def _take_triggers(self) -> None:
        while True:
            try:
                update = self._triggers.popleft()
            except IndexError:
                return
            event = update.after
            if not self.settings.triggers(event.label):
                continue
            cam = self._camera(event.camera)
            if cam.settings.mode != "events":
                continue
            if update.type == "end" or event.end is not None:
                cam.active.discard(event.id)
                cam.until = max(cam.until, (event.end or time.time()) + cam.settings.post_roll)
            else:
                cam.active.add(event.id)
                if cam.writer is None and not self.disk_error:
                    self._flush_ring(cam, event.start - cam.settings.pre_roll)

    def _on_frame(self, frame: Frame) -> None:
        cam = self._camera(frame.name)
        mode = cam.settings.mode
        if mode == "off":
            return
        try:
            jpeg = frame.to_jpeg()
        except Exception as exc:  # no picture form: counted, not recorded, logged once
            cam.stats.unrecordable += 1
            if cam.stats.unrecordable == 1:
                log.warning("camera %s sends frames that cannot be recorded: %s", frame.name, exc)
            return
        at = frame.received_at
        if mode == "continuous" or cam.active or at <= cam.until:
            if not self.disk_error:
                self._write(cam, at, jpeg)
            return
        if cam.writer is not None:  # the event and its post-roll are over
            self._close_segment(cam)
        self._remember(cam, at, jpeg)

    def _remember(self, cam: _Camera, at: float, jpeg: bytes) -> None:
        ring = cam.ring
        ring.append((at, jpeg))
        cam.ring_bytes += len(jpeg)
        self.ring_bytes += len(jpeg)
        horizon = at - cam.settings.pre_roll - TRIGGER_LATENCY
        while ring and ring[0][0] < horizon:
            self._evict(cam)
        cap = self.settings.preroll_mb * 1e6
        while self.ring_bytes > cap:
            fattest = max(self._cameras.values(), key=lambda c: c.ring_bytes)
            self._evict(fattest)
            self.ring_dropped += 1

    def _evict(self, cam: _Camera) -> None:
        _at, jpeg = cam.ring.popleft()
        cam.ring_bytes -= len(jpeg)
        self.ring_bytes -= len(jpeg)

    def _flush_ring(self, cam: _Camera, since: float) -> None:
        while cam.ring:
            at, jpeg = cam.ring[0]
            self._evict(cam)
            if at >= since:
                self._write(cam, at, jpeg)

    def _write(self, cam: _Camera, at: float, jpeg: bytes) -> None:
        writer = cam.writer
        too_long = writer is not None and at - (writer.first or at) >= self.settings.segment_seconds
        if too_long:
            self._close_segment(cam)
            writer = None
        if writer is None:
            if at < cam.retry_at:
                return
            writer = self._open_segment(cam, at)
            if writer is None:
                return
        try:
            writer.write(at, jpeg)
            writer.flush()  # to the OS at once: a SIGKILL then loses nothing written
        except OSError as exc:
            self._fail(cam, f"cannot write {writer.path}: {exc.strerror or exc}")
            self._close_segment(cam)
            return
        cam.written_at = time.monotonic()
        cam.stats.frames += 1
        cam.stats.bytes += len(jpeg)
        cam.stats.recording = True

    def _open_segment(self, cam: _Camera, at: float) -> SegmentWriter | None:
        day = time.strftime("%Y-%m-%d", time.localtime(at))
        path = self.root / camera_dir(cam.name) / day / f"{at:.3f}.cseg"
        try:
            private_dir(path.parent)
            cam.segment_id = self.index.add(cam.name, path, at)
            cam.writer = SegmentWriter(path)
        except Exception as exc:  # OSError, sqlite3.Error: try again in a while
            self._fail(cam, f"cannot start a segment in {path.parent}: {exc}")
            cam.retry_at = at + 5.0
            return None
        cam.stats.segments += 1
        return cam.writer

    def _close_segment(self, cam: _Camera) -> None:
        writer = cam.writer
        if writer is None:
            return
        cam.writer = None
        cam.stats.recording = False
        try:
            writer.close()
        except OSError as exc:
            self._fail(cam, f"cannot close {writer.path}: {exc.strerror or exc}")
        try:
            self.index.update(
                cam.segment_id, writer.last or writer.first or 0.0, writer.frames, writer.size,
                closed=True,
            )  # fmt: skip
        except Exception as exc:
            self._fail(cam, f"cannot index {writer.path}: {exc}")

    def _fail(self, cam: _Camera, message: str) -> None:
        cam.stats.errors += 1
        cam.stats.last_error = message
        if cam.stats.errors == 1 or cam.stats.errors % 100 == 0:
            log.error(
                "recording camera %s: %s (%d errors so far)", cam.name, message, cam.stats.errors
            )

    # -- retention and the disk ----------------------------------------------------------

    def _maintain(self, now: float) -> None:
        with self._lock:
            cams = list(self._cameras.values())
        idle_since = time.monotonic() - self.settings.segment_seconds
        for cam in cams:  # a camera that stopped sending: finish its segment now
            if cam.writer is not None and cam.written_at < idle_since:
                self._close_segment(cam)
        try:
            self.enforce_retention(now)
            self._check_disk()
        except Exception:
            log.exception("recording maintenance failed")

    def enforce_retention(self, now: float | None = None) -> int:
        """Delete closed segments past ``keep_days``, then the oldest while the total is
        over ``max_gb``; returns how many were deleted."""
        now = time.time() if now is None else now
        s = self.settings
        deleted = 0
        if s.keep_days > 0:
            horizon = now - s.keep_days * 86400
            for seg in self.index.oldest_closed(limit=10_000):
                if seg.end >= horizon:
                    break
                deleted += self._delete(seg.id, seg.path)
        if s.max_gb > 0:
            cap = s.max_gb * 1e9
            total = self.index.total_bytes()
            while total > cap:
                oldest = self.index.oldest_closed(limit=50)
                if not oldest:
                    break
                for seg in oldest:
                    if total <= cap:
                        break
                    deleted += self._delete(seg.id, seg.path)
                    total -= seg.bytes
        self.deleted += deleted
        return deleted

    def _delete(self, sid: int, path: Path) -> int:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("cannot delete old recording %s: %s", path, exc.strerror or exc)
            return 0
        self.index.remove(sid)
        return 1

    def _check_disk(self) -> None:
        try:
            free = shutil.disk_usage(self.root).free
        except OSError as exc:
            free, reason = 0, f"cannot check free space on {self.root}: {exc.strerror or exc}"
        else:
            reason = (
                f"recording stopped: only {free / 1e9:.2f} GB free on {self.root} "
                f"(minimum {self.settings.min_free_gb:g} GB); free space or lower max_gb"
            )
        low = free < self.settings.min_free_gb * 1e9
        if low and self.disk_error is None:
            log.error("%s", reason)
            with self._lock:
                cams = list(self._cameras.values())
            for cam in cams:
                self._close_segment(cam)
        elif not low and self.disk_error is not None:
            log.warning("recording resumed: %.2f GB free on %s", free / 1e9, self.root)
        self.disk_error = reason if low else None

    # -- for the API, /metrics and the status line ---------------------------------------

    def health(self) -> list[str]:
        """Problems a person must see (empty: all well)."""
        return [] if self.disk_error is None else [self.disk_error]

    def stats(self) -> RecorderStats:
        with self._lock:
            cams = sorted(self._cameras.values(), key=lambda c: c.name)
            copies = [dataclasses.replace(c.stats) for c in cams]
        return RecorderStats(
            seen=self.seen,
            dropped=self.frames.dropped,
            preroll_bytes=self.ring_bytes,
            preroll_dropped=self.ring_dropped,
            deleted=self.deleted,
            recovered=self.recovered,
            disk_error=self.disk_error,
            cameras=copies,
        )
