"""The recorder: every frame of the cameras it records, written as segments off the
ingest path.

It reads a bounded per-frame subscription (``store.subscribe``): when the disk or this
thread is slow, the subscription drops the oldest frames and counts them, and ingest
never waits. Events arrive from the bus. In ``events`` mode each camera keeps a ring of
its last ``pre_roll`` seconds (all rings together capped at ``preroll_mb``); when an
event starts, the ring is written first, so the recording begins before the trigger.

JPEG and raw cameras go to JPEG segments (:mod:`.segment`); video cameras to fragmented
MP4 segments of their own packets (:mod:`.video_segment`), each starting on a keyframe.
A video packet is only written after an unbroken chain back to its keyframe: a gap in
the camera's ``seq`` or a frame the subscription dropped stops that camera's writing
(and its pre-roll) until its next keyframe.
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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from camhub.bus import BusSubscription, EventBus
from camhub.datadir import private_dir
from camhub.events.model import EventUpdate
from camhub.record.index import SegmentIndex
from camhub.record.preroll import PreRoll
from camhub.record.segment import SegmentWriter
from camhub.record.settings import CameraRecording, RecordSettings
from camhub.record.video_segment import VideoSegmentWriter
from camhub.types import CameraName, Frame
from camhub.video.codecconfig import TrackConfig, track_config, track_key
from camhub.video.packet import BitstreamError, VideoPacket

log = logging.getLogger("camhub.record")

TRIGGER_LATENCY = 5.0
"""Seconds the ring keeps beyond ``pre_roll``: an event reaches the recorder a little
after it starts (a detector needs a few frames), and its pre-roll is counted from its
start."""

BATCH_WAIT = 0.05
"""Seconds the recorder lets frames gather in its queue between rounds."""

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
    codec: str | None = None
    """What the camera's segments hold: ``jpeg``, or the video codec."""
    skipped: int = 0
    """Video packets not recorded because their group lost a packet, or no keyframe
    had started one yet."""
    buffered: int = 0
    """Video packets held for the fragment not yet written."""

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


Item = bytes | VideoPacket
"""What a camera's frame is recorded as: its JPEG, or its video packet."""


@dataclass(slots=True)
class _Camera:
    name: CameraName
    settings: CameraRecording
    stats: CameraRecorderStats
    ring: PreRoll[Item] = field(default_factory=PreRoll)
    writer: SegmentWriter | VideoSegmentWriter | None = None
    last_seq: int | None = None
    broken: bool = False
    """A packet of the current video group was lost: nothing until the next keyframe."""
    track: TrackConfig | None = None
    track_key: bytes = b""
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
        drops_seen = 0
        while not self._stop.is_set():
            frame = self.frames.get(timeout=0.2)
            while True:
                # Triggers after the wait: an event published before a frame was put is
                # always seen before that frame is handled.
                self._take_triggers()
                now = time.time()
                # Maintenance (retention, the free-disk guard) before the frame: the very
                # first frame must not reach a disk that is already too full.
                if now >= self._next_maintenance:
                    self._next_maintenance = now + 5.0
                    self._maintain(now)
                # Read after the frame was taken: a drop seen now lies before any frame
                # still to come, so breaking every video group here lets no gap through.
                dropped = self.frames.dropped
                if dropped != drops_seen:
                    drops_seen = dropped
                    self._break_all()
                if frame is None:
                    break
                self.seen += 1
                try:
                    self._on_frame(frame)
                except Exception:  # one camera's bad frame must not end recording
                    log.exception("recorder failed on a frame of camera %s", frame.name)
                frame = self.frames.get(timeout=0)
            # Frames wait a moment and are then taken together: a few wake-ups a second
            # instead of one per frame (the queue holds far more than BATCH_WAIT's worth).
            self._stop.wait(BATCH_WAIT)
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
        item = self._item(cam, frame)
        if item is None:
            return
        at = frame.received_at
        if mode == "continuous" or cam.active or at <= cam.until:
            if not self.disk_error:
                self._write(cam, at, item)
            return
        if cam.writer is not None:  # the event and its post-roll are over
            self._close_segment(cam)
        self._remember(cam, at, item)

    def _item(self, cam: _Camera, frame: Frame) -> Item | None:
        """What to record of ``frame``: its JPEG, or its packet if the chain back to
        the keyframe is whole (``None``: nothing)."""
        packet = frame.video
        if packet is None:
            try:
                return frame.to_jpeg()
            except Exception as exc:  # no picture form: counted, not recorded, logged once
                cam.stats.unrecordable += 1
                if cam.stats.unrecordable == 1:
                    log.warning("camera %s sends frames that cannot be recorded: %s", cam.name, exc)
                return None
        seq, last = frame.seq, cam.last_seq
        cam.last_seq = seq
        # A gap in seq, or a frame the hub's store marked broken (a loss it saw upstream;
        # ``Frame.broken`` comes with the store's video tracking, hence getattr).
        if (seq is not None and last is not None and seq != last + 1) or getattr(
            frame, "broken", False
        ):
            self._break(cam)
        if packet.keyframe:
            cam.broken = False
        elif cam.broken:
            cam.stats.skipped += 1
            return None
        return packet

    def _break(self, cam: _Camera) -> None:
        """A packet of ``cam``'s group was lost: write what came before, then wait."""
        cam.broken = True
        cam.ring.close_group()
        if isinstance(cam.writer, VideoSegmentWriter):
            try:
                cam.writer.end_group()
            except OSError as exc:
                self._fail(cam, f"cannot write {cam.writer.path}: {exc.strerror or exc}")
                self._close_segment(cam)

    def _break_all(self) -> None:
        for cam in list(self._cameras.values()):
            if cam.stats.codec not in (None, "jpeg"):
                self._break(cam)

    def _remember(self, cam: _Camera, at: float, item: Item) -> None:
        size = len(item) if isinstance(item, bytes) else len(item.data)
        key = isinstance(item, bytes) or item.keyframe
        if isinstance(item, VideoPacket):
            cam.stats.codec = item.codec
        before = cam.ring.bytes
        if not cam.ring.add(at, item, size, starts_group=key):
            cam.stats.skipped += 1  # its keyframe left the ring (the memory cap)
            return
        cam.ring.trim(at - cam.settings.pre_roll - TRIGGER_LATENCY)
        self.ring_bytes += cam.ring.bytes - before
        cap = self.settings.preroll_mb * 1e6
        while self.ring_bytes > cap:
            fattest = max(self._cameras.values(), key=lambda c: c.ring.bytes)
            self.ring_bytes -= fattest.ring.drop_oldest()
            self.ring_dropped += 1

    def _flush_ring(self, cam: _Camera, since: float) -> None:
        self.ring_bytes -= cam.ring.bytes
        for at, item in cam.ring.take(since):
            self._write(cam, at, item)

    def _write(self, cam: _Camera, at: float, item: Item) -> None:
        writer = (
            self._video_writer(cam, at, item)
            if isinstance(item, VideoPacket)
            else self._jpeg_writer(cam, at)
        )
        if writer is None:
            return
        try:
            if isinstance(writer, VideoSegmentWriter):
                assert isinstance(item, VideoPacket)
                writer.write(at, item)  # a fragment reaches the OS once it is complete
                size = len(item.data)
                cam.stats.buffered = writer.buffered
            else:
                assert isinstance(item, bytes)
                writer.write(at, item)
                writer.flush()  # to the OS at once: a SIGKILL then loses nothing written
                size = len(item)
        except OSError as exc:
            self._fail(cam, f"cannot write {writer.path}: {exc.strerror or exc}")
            self._close_segment(cam)
            return
        cam.written_at = time.monotonic()
        cam.stats.frames += 1
        cam.stats.bytes += size
        cam.stats.recording = True

    def _jpeg_writer(self, cam: _Camera, at: float) -> SegmentWriter | None:
        writer = cam.writer
        if writer is not None and (
            isinstance(writer, VideoSegmentWriter)  # the camera changed to JPEG
            or at - (writer.first or at) >= self.settings.segment_seconds
        ):
            self._close_segment(cam)
            writer = None
        if writer is None:
            if at < cam.retry_at:
                return None
            cam.stats.codec = "jpeg"
            path = self._segment_path(cam, at, "cseg")
            if not self._open_segment(cam, at, path, lambda: SegmentWriter(path)):
                return None
            assert isinstance(cam.writer, SegmentWriter)
            return cam.writer
        return writer

    def _video_writer(
        self, cam: _Camera, at: float, packet: VideoPacket
    ) -> VideoSegmentWriter | None:
        writer = cam.writer
        cam.stats.codec = packet.codec
        if not packet.keyframe:
            if isinstance(writer, VideoSegmentWriter):
                return writer
            cam.stats.skipped += 1  # no segment to go on with: wait for a keyframe
            return None
        key = track_key(packet.codec, packet.data)
        if cam.track is None or key != cam.track_key:  # parsed only when they change
            try:
                cam.track, cam.track_key = track_config(packet.codec, packet.data), key
            except BitstreamError as exc:  # a keyframe without its parameter sets
                cam.stats.unrecordable += 1
                if cam.stats.unrecordable == 1:
                    log.warning("camera %s sends video that cannot be recorded: %s", cam.name, exc)
                self._break(cam)
                return None
        track = cam.track
        if isinstance(writer, VideoSegmentWriter) and (
            writer.track == track and at - (writer.first or at) < self.settings.segment_seconds
        ):
            return writer
        self._close_segment(cam)  # too long, another camera format, new parameter sets
        if at < cam.retry_at:
            return None
        path = self._segment_path(cam, at, "mp4")
        opened = self._open_segment(
            cam, at, path, lambda: VideoSegmentWriter(path, track, at),
            container="fmp4", codec=packet.codec, mime=track.mime,
        )  # fmt: skip
        if not opened:
            return None
        assert isinstance(cam.writer, VideoSegmentWriter)
        return cam.writer

    def _segment_path(self, cam: _Camera, at: float, ext: str) -> Path:
        day = time.strftime("%Y-%m-%d", time.localtime(at))
        return self.root / camera_dir(cam.name) / day / f"{at:.3f}.{ext}"

    def _open_segment(
        self,
        cam: _Camera,
        at: float,
        path: Path,
        create: Callable[[], SegmentWriter | VideoSegmentWriter],
        **kind: str,
    ) -> bool:
        try:
            private_dir(path.parent)
            cam.segment_id = self.index.add(cam.name, path, at, **kind)
            cam.writer = create()
        except Exception as exc:  # OSError, sqlite3.Error: try again in a while
            self._fail(cam, f"cannot start a segment in {path.parent}: {exc}")
            cam.retry_at = at + 5.0
            return False
        cam.stats.segments += 1
        return True

    def _close_segment(self, cam: _Camera) -> None:
        writer = cam.writer
        if writer is None:
            return
        cam.writer = None
        cam.stats.recording = False
        cam.stats.buffered = 0
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
