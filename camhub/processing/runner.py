"""Runs a processor on a hub's cameras: one worker thread per camera, off the receive path.

Each worker waits for its camera's newest frame (``FrameStore.wait_newer``), so a slow
processor only ever sees fresh frames and never delays ingest or other cameras; the
frames it had no time for are counted in ``skipped``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import cv2
import numpy as np

from camhub.bus import EventBus
from camhub.events.model import EventUpdate
from camhub.jpeg import encode_jpeg
from camhub.processing.base import (
    FunctionProcessor,
    Output,
    Processor,
    Result,
    as_result,
    processor_class,
)
from camhub.types import ArgumentTypeError, CameraName, Frame, FrameStore

log = logging.getLogger("camhub.processing")

ProcessorSpec = str | type[Processor] | Callable[[Frame], Output]
"""A registered type name, a Processor subclass (one instance per camera) or a plain
function (shared by every camera)."""


@dataclass(slots=True)
class ProcessorUpdate:
    """The outcome of processing one frame, as consumers (the dashboard) see it."""

    processor: str
    camera: CameraName
    count: int
    """How many frames this worker has processed, this one included."""
    frame_received_at: float
    jpeg: bytes | None
    """The annotated image as JPEG, if the processor produced one."""
    detections: list[dict[str, object]] = field(default_factory=list)
    data: dict[str, object] = field(default_factory=dict)
    elapsed_ms: float = 0.0
    events: list[EventUpdate] = field(default_factory=list)
    """Event changes the processor reported for this frame (publish them on the bus)."""


@dataclass(slots=True)
class WorkerStats:
    processor: str
    camera: CameraName
    processed: int = 0
    skipped: int = 0
    """Frames that arrived while the processor was busy and were never given to it."""
    errors: int = 0
    last_ms: float = 0.0
    avg_ms: float = 0.0
    last_error: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__slots__}


UpdateListener = Callable[[ProcessorUpdate], None]


def _draw_boxes(frame: Frame, result: Result) -> None:
    image = np.array(frame.image, dtype=np.uint8)  # a copy: the frame is shared
    for det in result.detections:
        x, y, w, h = det.box
        cv2.rectangle(image, (x, y), (x + w, y + h), (0, 220, 0), 2)
        cv2.putText(
            image,
            det.label,
            (x, max(12, y - 4)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.5,
            (0, 220, 0),
            1,
            cv2.LINE_AA,
        )
    result.image = image


class _Worker:
    def __init__(self, runner: ProcessorRunner, camera: CameraName, start_count: int) -> None:
        self.runner = runner
        self.camera = camera
        self.start_count = start_count
        self.stats = WorkerStats(runner.name, camera)
        self.latest: ProcessorUpdate | None = None
        self.thread = threading.Thread(
            target=self._run, name=f"camhub-proc-{runner.name}-{camera}"[:60], daemon=True
        )

    def _run(self) -> None:
        runner, stats = self.runner, self.stats
        try:
            processor = runner.make_processor()
            processor.start(self.camera)
        except Exception as exc:
            stats.errors += 1
            stats.last_error = f"start failed: {exc}"
            log.exception("processor %s could not start for camera %s", runner.name, self.camera)
            return
        count = self.start_count
        try:
            while not runner.stopping.is_set():
                got = runner.store.wait_newer(self.camera, count, timeout=0.25)
                if got is None:
                    self._idle(processor)
                    continue
                frame, new_count = got
                stats.skipped += new_count - count - 1
                count = new_count
                self._process(processor, frame)
        finally:
            try:
                processor.stop()
            except Exception:
                log.exception("processor %s failed to stop for camera %s", runner.name, self.camera)

    def _idle(self, processor: Processor) -> None:
        try:
            changes = processor.idle(time.time())
        except Exception as exc:
            self.stats.errors += 1
            self.stats.last_error = f"idle: {type(exc).__name__}: {exc}"
            return
        if self.runner.bus is not None:
            for change in changes:
                self.runner.bus.publish(change)

    def _process(self, processor: Processor, frame: Frame) -> None:
        stats = self.stats
        started = time.perf_counter()
        try:
            result = as_result(processor.process(frame))
            if result.image is None and result.detections:
                _draw_boxes(frame, result)
            jpeg = (
                None
                if result.image is None
                else encode_jpeg(result.image, self.runner.jpeg_quality)
            )
        except Exception as exc:
            stats.errors += 1
            stats.last_error = f"{type(exc).__name__}: {exc}"
            if stats.errors == 1 or stats.errors % 100 == 0:
                log.warning(
                    "processor %s failed on camera %s (%d errors so far): %s",
                    self.runner.name,
                    self.camera,
                    stats.errors,
                    stats.last_error,
                )
            return
        elapsed = (time.perf_counter() - started) * 1000
        stats.processed += 1
        stats.last_ms = round(elapsed, 2)
        stats.avg_ms = round(
            elapsed if stats.processed == 1 else 0.9 * stats.avg_ms + 0.1 * elapsed, 2
        )
        update = ProcessorUpdate(
            processor=self.runner.name,
            camera=self.camera,
            count=stats.processed,
            frame_received_at=frame.received_at,
            jpeg=jpeg,
            detections=[d.as_dict() for d in result.detections],
            data=result.data,
            elapsed_ms=stats.last_ms,
            events=result.events,
        )
        self.latest = update
        self.runner.notify(update)


class ProcessorRunner:
    """Runs ``processor`` on ``cameras`` (all, including ones that appear later, if None).

    It reads frames from ``store`` (a :class:`~camhub.store.CameraStore` or a ``Hub``)
    and finds new cameras by looking at the store, so it needs nothing else; ``bus`` is
    where processors that raise events publish them.

    >>> runner = ProcessorRunner(hub.store, "motion", bus=hub.bus).start()
    >>> runner.latest("cam1").data
    """

    WATCH_EVERY = 0.2
    """Seconds between looks for cameras that appeared."""

    def __init__(
        self,
        store: FrameStore,
        processor: ProcessorSpec,
        *,
        bus: EventBus | None = None,
        cameras: Iterable[CameraName] | None = None,
        options: Mapping[str, object] | None = None,
        name: str | None = None,
        jpeg_quality: int = 80,
    ) -> None:
        self.store = store
        self.bus = bus
        self.cameras = None if cameras is None else frozenset(cameras)
        self.options = dict(options or {})
        self.jpeg_quality = jpeg_quality
        if isinstance(processor, str):
            processor = processor_class(processor)
        if isinstance(processor, type):
            if not issubclass(processor, Processor):
                raise ArgumentTypeError(f"{processor.__name__} is not a camhub Processor subclass")
            cls = processor
            cls(**self.options)  # fail now, in the caller, on bad options
            self.make_processor: Callable[[], Processor] = lambda: cls(**self.options)
            default_name = cls.type_name or cls.__name__.lower()
        elif callable(processor):
            if self.options:
                raise ArgumentTypeError(
                    "options are only for Processor classes, not plain functions"
                )
            fn = processor
            self.make_processor = lambda: FunctionProcessor(fn)
            default_name = getattr(fn, "__name__", "processor")
        else:
            raise ArgumentTypeError(f"not a processor: {processor!r}")
        self.name = name or default_name
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._workers: dict[CameraName, _Worker] = {}
        self._listeners: list[UpdateListener] = []
        self._watch: threading.Thread | None = None

    def wants(self, camera: CameraName) -> bool:
        return self.cameras is None or camera in self.cameras

    def start(self) -> ProcessorRunner:
        if self._watch is None:
            # Frames from before the runner existed are history, not skips; frames a
            # camera sent before its worker was found and started are skips.
            for stats in self.store.stats():
                self._ensure_worker(stats.name, max(stats.frames - 1, 0))
            self._watch = threading.Thread(
                target=self._watch_cameras, name=f"camhub-proc-{self.name}"[:60], daemon=True
            )
            self._watch.start()
        return self

    def _watch_cameras(self) -> None:
        while not self.stopping.wait(self.WATCH_EVERY):
            for camera in self.store.camera_names():
                self._ensure_worker(camera, 0)

    def _ensure_worker(self, camera: CameraName, start_count: int) -> None:
        if not self.wants(camera) or self.stopping.is_set():
            return
        with self._lock:
            if camera in self._workers:
                return
            worker = self._workers[camera] = _Worker(self, camera, start_count)
        worker.thread.start()

    def add_listener(self, listener: UpdateListener) -> None:
        """Call ``listener(update)`` after each processed frame (from worker threads)."""
        self._listeners.append(listener)

    def notify(self, update: ProcessorUpdate) -> None:
        if self.bus is not None:
            for change in update.events:
                self.bus.publish(change)
        for listener in self._listeners:
            try:
                listener(update)
            except Exception:
                log.exception("processor update listener failed")

    def latest(self, camera: CameraName) -> ProcessorUpdate | None:
        with self._lock:
            worker = self._workers.get(camera)
        return None if worker is None else worker.latest

    def stats(self) -> list[WorkerStats]:
        with self._lock:
            workers = [self._workers[c] for c in sorted(self._workers)]
        return [WorkerStats(**w.stats.as_dict()) for w in workers]  # type: ignore[arg-type]

    def camera_stats(self, camera: CameraName) -> WorkerStats | None:
        with self._lock:
            worker = self._workers.get(camera)
        return None if worker is None else WorkerStats(**worker.stats.as_dict())  # type: ignore[arg-type]

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every worker; a processor stuck in ``process`` is left behind after
        ``timeout`` seconds (its thread is a daemon) and logged."""
        self.stopping.set()
        deadline = time.monotonic() + timeout
        if self._watch is not None:
            self._watch.join(timeout)
        with self._lock:
            workers = list(self._workers.values())
        for worker in workers:
            worker.thread.join(max(0.0, deadline - time.monotonic()))
            if worker.thread.is_alive():
                log.warning(
                    "processor %s on camera %s did not finish within %.0f s; abandoning it",
                    self.name,
                    worker.camera,
                    timeout,
                )

    def __enter__(self) -> ProcessorRunner:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
