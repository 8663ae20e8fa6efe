"""Object detection on every camera, scheduled so the CPU is not wasted and ingest never waits.

One scheduler thread in the hub process, reading the store's newest frames:

* a camera is *due* when it has a frame newer than its last look, no frame in flight, and
  ``1/detect_fps`` has passed since its last look;
* a due camera first gets a cheap motion check (:class:`~camhub.detect.motion.MotionGate`);
  the detector runs only where something moved (the motion region), or on the whole
  picture every ``recheck_s`` while objects are tracked, so still objects are re-checked
  rarely instead of on every frame;
* the newest frames of due cameras go to the next free worker process, up to the
  detector's batch size per job (batching across cameras where the backend gains);
  frames that arrive in between are skipped and counted;
* results feed each camera's tracker (:class:`~camhub.detect.objects.CameraObjects`),
  which publishes object events on the bus; the latest boxes go to ``listeners`` (the
  dashboard draws them in the browser).

A job carries looks, not pictures: each is a frame and the region of it to detect on, in
the pool's own form (``pool.prepare``): the local pool fits it to the model here and passes
it through shared memory, the Ray pool sends the camera's own JPEG and the region. Boxes
come back in frame pixels.

A worker that crashes or hangs is restarted by the pool; its cameras report
``detection failed, restarting`` until they get a result again.

Camera state is changed by this thread only: other threads (the bus telling that a camera
went offline) leave a note that the loop acts on; ``_lock`` guards what the web thread reads.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from camhub.bus import BusSubscription, EventBus
from camhub.detect.base import DetectorError
from camhub.detect.job import NoPicture, Prepared, frame_size
from camhub.detect.labels import resolve_all
from camhub.detect.motion import MotionGate, Region
from camhub.detect.objects import CameraObjects
from camhub.detect.pool import Aborted, DetectorPool, DetectorSpec, JobDone
from camhub.detect.stats import CameraDetectionStats, DetectionStats, ObjectCounts
from camhub.detect.tracker import Tracker
from camhub.detect.zones import Line, Zone
from camhub.store import CameraStore
from camhub.types import ArgumentError, CameraName, Frame, HubEvent

log = logging.getLogger("camhub.detect")

FAILED = "detection failed, restarting"


@dataclass(slots=True)
class CameraSettings:
    detect_fps: float = 5.0
    zones: list[Zone] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    enabled: bool = True


@dataclass(slots=True)
class ObjectsUpdate:
    """What a camera's tracker holds after a look (the dashboard's overlay)."""

    camera: CameraName
    at: float
    width: int
    height: int
    objects: list[dict[str, object]]
    counts: ObjectCounts
    region: Region | None
    status: str

    def as_dict(self) -> dict[str, object]:
        return {
            "camera": self.camera,
            "at": self.at,
            "width": self.width,
            "height": self.height,
            "objects": self.objects,
            "counts": self.counts.as_dict(),
            "region": None if self.region is None else list(self.region),
            "status": self.status,
        }


Listener = Callable[[ObjectsUpdate], None]


@dataclass(slots=True)
class _Item:
    camera: CameraName
    frame: Frame
    region: Region | None
    dispatched_at: float


class _Camera:
    def __init__(self, name: CameraName, settings: CameraSettings, objects: CameraObjects) -> None:
        self.name = name
        self.settings = settings
        self.objects = objects
        self.gate = MotionGate()
        self.cursor = 0
        self.in_flight = False
        self.next_due = 0.0
        self.last_full = 0.0
        self.last_dispatch = 0.0
        self.status = "ok"
        self.looks = 0
        self.motion_looks = 0
        self.detections = 0
        self.full_frame = 0
        self.skipped = 0
        self.no_motion = 0
        self.failed = 0
        self.infer_ms = 0.0
        self.wait_ms = 0.0
        self.detect_times: deque[float] = deque(maxlen=32)
        self.last_update: ObjectsUpdate | None = None

    def detect_fps(self, now: float) -> float:
        recent = [t for t in self.detect_times if now - t <= 5.0]
        if len(recent) < 2:
            return 0.0
        return (len(recent) - 1) / max(1e-6, recent[-1] - recent[0])

    def stats(self, now: float) -> CameraDetectionStats:
        return CameraDetectionStats(
            camera=self.name,
            status=self.status,
            detect_fps=round(self.detect_fps(now), 2),
            detect_fps_target=self.settings.detect_fps,
            looks=self.looks,
            inferences=self.detections,
            full_frame=self.full_frame,
            no_motion=self.no_motion,
            skipped=self.skipped,
            failed=self.failed,
            inference_ms=round(self.infer_ms, 1),
            queue_wait_ms=round(self.wait_ms, 1),
            in_flight=self.in_flight,
            counts=self.objects.counts(),
        )


class ObjectDetection:
    def __init__(
        self,
        store: CameraStore,
        bus: EventBus,
        spec: DetectorSpec,
        *,
        labels: Sequence[str] = (),
        workers: int = 1,
        detect_fps: float = 5.0,
        cameras: dict[CameraName, CameraSettings] | None = None,
        motion_gated: bool = True,
        recheck_s: float = 5.0,
        job_timeout: float = 30.0,
        tracker: Callable[[], Tracker] = Tracker,
        pool: DetectorPool | None = None,
    ) -> None:
        if detect_fps <= 0:
            raise ArgumentError(f"detect_fps must be positive, got {detect_fps}")
        self.store = store
        self.bus = bus
        # ``pool``: detectors elsewhere (camhub.distributed.RayPool runs them on a cluster).
        self.pool = (
            pool
            if pool is not None
            else DetectorPool(spec, workers=workers, job_timeout=job_timeout)
        )
        self.labels = list(labels)
        self.default = CameraSettings(detect_fps=detect_fps)
        self.settings = dict(cameras or {})
        self.motion_gated = motion_gated
        self.recheck_s = recheck_s
        self.make_tracker = tracker
        self.listeners: list[Listener] = []
        self._cams: dict[CameraName, _Camera] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._offline: deque[HubEvent] = deque(maxlen=1024)
        """Cameras gone offline, noted by the bus thread for the loop to act on."""
        self.started_at = 0.0
        self._hub_events: BusSubscription | None = None

    # -- life cycle -------------------------------------------------------------------

    def start(self, abort: threading.Event | None = None) -> ObjectDetection:
        """Start the pool (a model that cannot load fails here, before any thread runs)
        and the loop. ``abort`` set while the pool starts (a model loading, a cluster
        answering): the pool is stopped and detection stays off (``running`` is False)."""
        try:
            self.pool.start(abort)
        except Aborted:
            log.info("object detection not started: stopped while it started")
            return self
        try:
            self._resolve_labels()
        except DetectorError:
            self.pool.stop()
            raise
        self.started_at = time.time()
        self._hub_events = self.bus.subscribe(
            self._on_hub_event, name="detect-offline", kinds=(HubEvent,), maxsize=256
        )
        self._thread = threading.Thread(target=self._run, name="camhub-detect", daemon=True)
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _resolve_labels(self) -> None:
        """Every label given (tracked, per zone, per line) as the model spells it: old
        Darknet names and other spellings are accepted (``motorbike``, ``Dining_Table``)."""
        known = self.pool.labels
        self.labels = resolve_all(self.labels, known)
        for name, cam in self.settings.items():
            cam.zones = [z.resolved(known, name) for z in cam.zones]
            for line in cam.lines:
                line.resolve_labels(known, name)

    def _on_hub_event(self, event: HubEvent) -> None:
        # On the bus's thread: only note it; the loop changes the camera's state.
        if event.kind == "camera_offline" and event.camera is not None:
            self._offline.append(event)

    def _apply_offline(self) -> None:
        # A camera that went offline shows nothing any more: its objects' events end now
        # rather than hang open until it comes back.
        while self._offline:
            event = self._offline.popleft()
            assert event.camera is not None
            cam = self._cams.get(event.camera)
            if cam is None:
                continue
            with self._lock:
                cam.objects.close(event.at)
            cam.gate = MotionGate()  # its picture will have changed when it is back

    def stop(self) -> None:
        self._stop.set()
        if self._hub_events is not None:
            self._hub_events.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.pool.stop()
        now = time.time()
        with self._lock:
            for cam in self._cams.values():
                cam.objects.close(now)

    def add_listener(self, listener: Listener) -> None:
        self.listeners.append(listener)

    # -- the loop ---------------------------------------------------------------------

    def _camera(self, name: CameraName) -> _Camera:
        cam = self._cams.get(name)
        if cam is None:
            settings = self.settings.get(name, self.default)
            objects = CameraObjects(
                name,
                self.bus.publish,
                labels=self.labels,
                zones=settings.zones,
                lines=settings.lines,
                tracker=self.make_tracker(),
            )
            with self._lock:
                cam = self._cams[name] = _Camera(name, settings, objects)
        return cam

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._apply_offline()
                self._dispatch()
                for done in self.pool.poll(0.02):
                    self._finish(done)
            except Exception:  # keep detecting for the other cameras
                log.exception("object detection loop error")
                self._stop.wait(0.5)

    def _dispatch(self) -> None:
        worker = self.pool.free()
        if worker is None:
            return
        counts = self.store.counts()
        now = time.time()
        # Every due camera gets its cheap motion check; the worker then takes the most
        # urgent: a sighting to confirm, then something new moving, then the rest, the
        # longest-waiting first. Cameras not taken stay due for the next free worker.
        candidates: list[tuple[int, float, _Camera, Frame, int, Region]] = []
        for name in self.store.camera_names():
            cam = self._camera(name)
            if not cam.settings.enabled or cam.in_flight:
                continue
            count = counts.get(name, 0)
            if count <= cam.cursor or now < cam.next_due:
                continue
            frame = self.store.latest(name)
            if frame is None:
                continue
            try:
                region = self._where(cam, frame, now)
            except Exception:  # a frame with no picture form (opaque payload, odd array)
                self._looked(cam, count, now)
                cam.skipped += 1
                continue
            if region is None:
                self._looked(cam, count, now)
                cam.no_motion += 1
                continue
            tracks = cam.objects.tracker.tracks
            if any(not t.confirmed for t in tracks):
                urgency = 0
            elif not any(t.confirmed for t in tracks):
                urgency = 1
            else:
                urgency = 2
            candidates.append((urgency, cam.last_dispatch, cam, frame, count, region))
        candidates.sort(key=lambda c: (c[0], c[1]))
        batch: list[_Item] = []
        looks: list[Prepared] = []
        for _, _, cam, frame, count, region in candidates[: max(1, self.pool.batch_size)]:
            self._looked(cam, count, now)
            try:
                look = self.pool.prepare(frame, region)
            except NoPicture:  # an opaque payload or an array that is no picture: skip it
                cam.skipped += 1
                continue
            if look.full:
                cam.full_frame += 1
                cam.last_full = now
            cam.in_flight = True
            cam.last_dispatch = now
            batch.append(_Item(cam.name, frame, None if look.full else look.region, now))
            looks.append(look)
        if batch:
            try:
                self.pool.submit(worker, looks, batch)
            except BaseException:
                for item in batch:  # never leave a camera waiting for an answer that won't come
                    self._camera(item.camera).in_flight = False
                raise

    def _looked(self, cam: _Camera, count: int, now: float) -> None:
        if cam.cursor:
            cam.skipped += max(0, count - cam.cursor - 1)
        cam.cursor = count
        cam.next_due = now + 1.0 / cam.settings.detect_fps
        cam.looks += 1

    def _where(self, cam: _Camera, frame: Frame, now: float) -> Region | None:
        """The part of the frame to run the detector on, or ``None`` to skip this look."""
        w, h = frame_size(frame) or (0, 0)
        full = (0, 0, w, h)  # an unknown size: the pool takes the whole picture
        if not self.motion_gated:
            return full
        motion = cam.gate.check(frame)
        if motion.region is not None:
            cam.motion_looks += 1
            _, _, rw, rh = motion.region
            # A region most of the frame is no saving; the detector sees it all.
            if rw * rh >= 0.6 * full[2] * full[3]:
                return full
            return motion.region
        tracks = cam.objects.tracker.tracks
        # A sighting not yet confirmed, or a track the last look missed (gone, or hidden?),
        # is in doubt: keep looking at the detect rate until it is settled, moving or not.
        # Still, settled objects are re-checked only every recheck_s.
        if any(not t.confirmed or t.misses for t in tracks):
            return full
        if tracks and now - cam.last_full >= self.recheck_s:
            return full
        return None

    def _finish(self, done: JobDone) -> None:
        now = time.time()
        items: list[_Item] = done.job.items
        for i, item in enumerate(items):
            cam = self._camera(item.camera)
            with self._lock:  # the web thread reads counts and tracks
                self._finish_one(cam, done, i, item, now)

    def _finish_one(self, cam: _Camera, done: JobDone, i: int, item: _Item, now: float) -> None:
        cam.in_flight = False
        if done.boxes is None:
            cam.failed += 1
            cam.status = FAILED
            self._notify(cam, item, now)
            return
        cam.status = "ok"
        cam.detections += 1
        cam.detect_times.append(now)
        cam.infer_ms = done.ms / max(1, len(done.boxes))
        cam.wait_ms = (item.dispatched_at - item.frame.received_at) * 1000
        boxes = done.boxes[i]  # in frame pixels
        cam.objects.update(item.frame, boxes, item.frame.received_at, item.region)
        if any(not t.confirmed for t in cam.objects.tracker.tracks):
            # Something new, seen once: look again at once to confirm it, rather than
            # after 1/detect_fps (this is what the first-sight-to-event latency hangs on).
            cam.next_due = 0.0
        self._notify(cam, item, now)

    def _notify(self, cam: _Camera, item: _Item, now: float) -> None:
        tracks = cam.objects.tracks()
        update = ObjectsUpdate(
            camera=cam.name,
            at=item.frame.received_at,
            width=int(item.frame.width or 0),
            height=int(item.frame.height or 0),
            objects=[
                {
                    "id": t.id,
                    "label": t.label,
                    "score": round(t.score, 3),
                    "box": list(t.int_box),
                    "seen": t.matched,
                }
                for t in tracks
            ],
            counts=cam.objects.counts(),
            region=item.region,
            status=cam.status,
        )
        cam.last_update = update
        for listener in self.listeners:
            try:
                listener(update)
            except Exception:
                log.exception("objects listener failed")

    # -- health -----------------------------------------------------------------------

    def camera_stats(self) -> list[CameraDetectionStats]:
        now = time.time()
        workers = self.pool.workers
        # With every local worker restarting, no camera is being served, not only those
        # whose frame was on the worker that failed.
        down = bool(workers) and all(w.state in ("starting", "restarting") for w in workers)
        with self._lock:
            out = [c.stats(now) for c in sorted(self._cams.values(), key=lambda c: c.name)]
        if down:
            out = [dataclasses.replace(stats, status=FAILED) for stats in out]
        return out

    def latest(self, camera: CameraName) -> ObjectsUpdate | None:
        cam = self._cams.get(camera)
        return None if cam is None else cam.last_update

    def zones(self, camera: CameraName) -> dict[str, object]:
        settings = self.settings.get(camera, self.default)
        return {
            "zones": [
                {"name": z.name, "polygon": [list(p) for p in z.polygon]} for z in settings.zones
            ],
            "lines": [{"name": ln.name, "a": list(ln.a), "b": list(ln.b)} for ln in settings.lines],
        }

    def stats(self) -> DetectionStats:
        return DetectionStats(
            labels=list(self.labels),
            model_labels=len(self.pool.labels),
            input_size=list(self.pool.input_size),
            batch_size=self.pool.batch_size,
            motion_gated=self.motion_gated,
            workers=self.pool.stats(),
            cameras=self.camera_stats(),
        )
