"""Detector worker processes: each loads its model once and runs batches of model inputs.

Processes, not threads, so that inference never competes with ingest for the GIL and a
crashed model (a segfault in a native library) takes down only its worker. The pool
restarts a worker that dies or stays on one job longer than ``job_timeout``; the owner
learns which job failed and can tell its cameras' viewers.

The hub fits each look to the model once (:func:`~camhub.detect.job.look_at`: crop,
resize, pad) and writes it into the worker's shared memory (:class:`Slots`: one slot per
image of a batch, a fixed few MiB per worker); the pipe carries only small messages. A
worker has at most one job, and the hub writes a worker's slots only while it has none, so
a slot is never written while it is read. The hub owns the shared memory: it outlives a
crashed worker and is removed when the pool stops.

Messages over each worker's pipe (pickled):

* worker -> hub: ``("ready", labels, input_size, batch_size, fill)`` once loaded and warmed
  up, or ``("error", message)`` if the model cannot load; ``("result", job_id, found, ms,
  rss)`` per job, ``found`` one :class:`~camhub.detect.base.Found` per image, in model-input
  pixels (the hub maps them back to the frame).
* hub -> worker: ``("job", job_id, slots, fits)``: image ``i`` of the job is slot ``i`` of
  the shared memory ``slots`` names, fitted as ``fits[i]`` says; ``None`` to stop.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import pickle
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.shared_memory import SharedMemory
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from camhub.detect.base import Box, Detector, DetectorError, Found, Letterbox, ModelInput
from camhub.detect.job import Look, Prepared, Region, look_at
from camhub.detect.spec import DetectorSpec
from camhub.detect.stats import DetectorWorkerStats
from camhub.types import ArgumentError, Frame

log = logging.getLogger("camhub.detect")

WorkerState = Literal["starting", "ready", "busy", "restarting", "stopped"]

__all__ = [
    "Aborted",
    "DetectorPool",
    "DetectorSpec",  # where it lived before camhub.detect.spec
    "Job",
    "JobDone",
    "Slots",
    "SlotsInfo",
    "Worker",
    "worker_main",
]


class Aborted(DetectorError):
    """Start-up was called off (the hub was asked to stop while a model loaded)."""


@dataclass(frozen=True, slots=True)
class SlotsInfo:
    """What a worker needs to find its shared memory: name, slot count and input size."""

    name: str
    count: int
    size: tuple[int, int]


class Slots:
    """A worker's shared memory: ``count`` model inputs of ``size`` (width, height)."""

    def __init__(self, info: SlotsInfo, shm: SharedMemory) -> None:
        self.info, self.shm = info, shm
        w, h = info.size
        self.slot_bytes = w * h * 3

    @classmethod
    def create(cls, count: int, size: tuple[int, int]) -> Slots:
        w, h = size
        shm = SharedMemory(create=True, size=max(1, count * w * h * 3))
        return cls(SlotsInfo(shm.name, count, size), shm)

    @classmethod
    def attach(cls, info: SlotsInfo) -> Slots:
        return cls(info, SharedMemory(name=info.name))

    def fits(self, count: int, size: tuple[int, int]) -> bool:
        return self.info.count >= count and self.info.size == size

    def view(self, i: int) -> npt.NDArray[np.uint8]:
        if not 0 <= i < self.info.count:
            raise IndexError(f"slot {i} of {self.info.count}")
        w, h = self.info.size
        return np.ndarray((h, w, 3), np.uint8, buffer=self.shm.buf, offset=i * self.slot_bytes)

    def write(self, i: int, pixels: npt.NDArray[np.uint8]) -> int:
        self.view(i)[...] = pixels
        return self.slot_bytes

    def close(self) -> None:
        self.shm.close()

    def unlink(self) -> None:
        self.shm.close()
        try:
            self.shm.unlink()
        except FileNotFoundError:
            pass


def _rss() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _run_job(detector: Detector, slots: Slots, fits: list[tuple[float, int, int]]) -> list[Found]:
    # The inputs are views on the shared memory; they die with this call, so the memory
    # can be closed when the hub moves the worker to new slots.
    inputs = [ModelInput(slots.view(i), Letterbox(*fit)) for i, fit in enumerate(fits)]
    return detector.infer(inputs)


def worker_main(conn: Connection, spec: DetectorSpec) -> None:
    """Body of a worker process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the hub decides when workers stop
    try:
        detector = spec.build()
    except Exception as e:  # report any load failure to the hub, then exit
        conn.send(("error", str(e) or type(e).__name__))
        conn.close()
        return
    conn.send(
        (
            "ready",
            list(detector.labels),
            tuple(detector.input_size),
            detector.batch_size,
            detector.fill,
        )
    )
    slots: Slots | None = None
    try:
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                break
            if msg is None:
                break
            _, job_id, info, fits = msg
            if slots is None or slots.info != info:
                if slots is not None:
                    slots.close()
                slots = Slots.attach(info)
            start = time.perf_counter()
            found = _run_job(detector, slots, fits)
            ms = (time.perf_counter() - start) * 1000
            conn.send(("result", job_id, found, ms, _rss()))
    finally:
        detector.close()
        if slots is not None:
            slots.close()
        conn.close()


@dataclass(slots=True)
class Job:
    id: int
    items: list[Any]
    """Whatever the owner needs to route results (one per image)."""
    started: float
    looks: list[Prepared] = field(default_factory=list)
    """What was sent, one per item (to map the boxes back to the frame)."""


@dataclass(slots=True)
class JobDone:
    worker: Worker
    job: Job
    boxes: list[list[Box]] | None
    """Per item, in frame pixels; ``None`` when the worker crashed or hung on this job."""
    ms: float = 0.0
    error: str | None = None


class Worker:
    def __init__(self, index: int, spec: DetectorSpec) -> None:
        self.index = index
        self.spec = spec
        self.state: WorkerState = "stopped"
        self.process: Any = None
        self.conn: Connection | None = None
        self.job: Job | None = None
        self.started_at = 0.0
        self.restarts = 0
        self.inferences = 0
        self.images = 0
        self.total_ms = 0.0
        self.last_ms = 0.0
        self.rss = 0
        self.last_error: str | None = None
        self.failures = 0
        """Restarts in a row without a finished job (sets the back-off)."""
        self.spawn_at: float | None = None
        self.slots: Slots | None = None
        """Shared memory the hub writes this worker's inputs to (kept across restarts)."""

    @property
    def pid(self) -> int | None:
        return None if self.process is None else int(self.process.pid)

    def spawn(self) -> None:
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        process = ctx.Process(
            target=worker_main,
            args=(child, self.spec),
            name=f"camhub-detect-{self.index}",
            daemon=True,
        )
        # Kept only once started: a start that fails (e.g. inside a daemonic process)
        # must surface as itself, not as kill()'s join of a process never started.
        process.start()
        self.process = process
        child.close()
        self.conn = parent
        self.spawn_at = None
        self.started_at = time.monotonic()
        self.state = "starting" if self.restarts == 0 else "restarting"

    def kill(self) -> None:
        if self.process is not None and self.process.is_alive():
            self.process.kill()
        if self.process is not None:
            self.process.join(timeout=5)
        if self.conn is not None:
            self.conn.close()
        self.conn = None
        self.state = "stopped"

    def exit_text(self) -> str:
        """How the worker ended, read after reaping it (before, the code is unknown)."""
        process = self.process
        if process is None:
            return "worker exited"
        process.join(timeout=5)  # its pipe closed: it is gone or going
        code = process.exitcode
        if code is None:
            return "worker closed its pipe but did not exit"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"worker killed by {name}"
        return f"worker exited (code {code})"

    def release(self) -> None:
        """Remove the shared memory (the pool stops)."""
        if self.slots is not None:
            self.slots.unlink()
            self.slots = None

    def stop(self, timeout: float = 5.0) -> None:
        self.spawn_at = None
        if self.conn is not None and self.process is not None and self.process.is_alive():
            try:
                self.conn.send(None)
            except (OSError, ValueError):
                pass
            self.process.join(timeout=timeout)
        self.kill()

    def stats(self) -> DetectorWorkerStats:
        return DetectorWorkerStats(
            worker=self.index,
            pid=self.pid,
            state=self.state,
            restarts=self.restarts,
            inferences=self.inferences,
            images=self.images,
            avg_ms=round(self.total_ms / self.inferences, 1) if self.inferences else None,
            last_ms=round(self.last_ms, 1),
            rss_mb=round(self.rss / 2**20, 1),
            last_error=self.last_error,
        )


class DetectorPool:
    def __init__(
        self,
        spec: DetectorSpec,
        *,
        workers: int = 1,
        job_timeout: float = 30.0,
        load_timeout: float = 120.0,
    ) -> None:
        if workers < 1:
            raise ArgumentError(f"workers must be at least 1, got {workers}")
        self.spec = spec
        self.job_timeout = job_timeout
        self.load_timeout = load_timeout
        self.workers = [Worker(i, spec) for i in range(workers)]
        self.labels: list[str] = []
        self.input_size: tuple[int, int] = (0, 0)
        self.batch_size = 1
        self.fill = 114
        self.piped_bytes = 0
        """Bytes sent to workers through their pipes (small messages only)."""
        self.shared_bytes = 0
        """Bytes of model input written to the workers' shared memory."""
        self._next_job = 1

    def start(self, abort: threading.Event | None = None) -> DetectorPool:
        """Start every worker and wait until each has loaded its model; a model that
        cannot load fails here, with the worker's message. ``abort`` set while waiting
        stops the workers and raises :class:`Aborted`."""
        for w in self.workers:
            w.spawn()
        try:
            for w in self.workers:
                self._await_ready(w, abort)
        except BaseException:
            self.stop()
            raise
        return self

    def _await_ready(self, w: Worker, abort: threading.Event | None) -> None:
        assert w.conn is not None
        deadline = time.monotonic() + self.load_timeout
        while not w.conn.poll(0.1):
            if abort is not None and abort.is_set():
                raise Aborted("stopped while the detector loaded")
            if time.monotonic() > deadline:
                raise DetectorError(
                    f"detector worker did not load its model in {self.load_timeout:.0f} s"
                )
        try:
            msg = w.conn.recv()
        except (EOFError, OSError):
            raise DetectorError(
                f"detector {w.exit_text()} while loading its model; workers are spawned, "
                'so a script that starts detection needs an `if __name__ == "__main__":` guard'
            ) from None
        self._on_ready(w, msg)

    def _on_ready(self, w: Worker, msg: tuple[Any, ...]) -> None:
        if msg[0] == "error":
            raise DetectorError(str(msg[1]))
        _, labels, size, batch, fill = msg
        self.labels, self.input_size = list(labels), (int(size[0]), int(size[1]))
        self.batch_size, self.fill = int(batch), int(fill)
        w.state = "ready"

    def free(self) -> Worker | None:
        for w in self.workers:
            if w.state == "ready":
                return w
        return None

    def prepare(self, frame: Frame, region: Region | None = None) -> Prepared:
        """The look as this pool sends it: ``region`` of the frame (``None``: all of it)
        fitted to the model here, once. Raises :class:`~camhub.detect.job.NoPicture` for
        a frame with no picture form."""
        return look_at(frame, region, self.input_size, self.fill)

    def submit(self, w: Worker, looks: list[Prepared], items: list[Any]) -> Job:
        """Send prepared looks (at most ``batch_size``) to a ready worker."""
        assert w.state == "ready" and w.conn is not None
        if len(looks) != len(items):
            raise ArgumentError(f"{len(looks)} looks for {len(items)} items")
        job = Job(self._next_job, items, time.monotonic(), list(looks))
        self._next_job += 1
        w.job = job
        w.state = "busy"
        fits = []
        slots = self._slots(w, len(looks))
        for i, look in enumerate(looks):
            assert isinstance(look, Look), "a local pool sends looks it prepared itself"
            self.shared_bytes += slots.write(i, look.input.pixels)
            fit = look.input.fit
            fits.append((fit.scale, fit.pad_x, fit.pad_y))
        data = pickle.dumps(("job", job.id, slots.info, fits), protocol=pickle.HIGHEST_PROTOCOL)
        self.piped_bytes += len(data)
        try:
            w.conn.send_bytes(data)
        except (OSError, ValueError):
            pass  # the worker died: the next poll notices and restarts it
        return job

    def _slots(self, w: Worker, count: int) -> Slots:
        """The worker's shared memory, (re)made when the model's input changed."""
        need = max(count, self.batch_size, 1)
        if w.slots is None or not w.slots.fits(need, self.input_size):
            w.release()
            w.slots = Slots.create(need, self.input_size)
        return w.slots

    def poll(self, timeout: float) -> list[JobDone]:
        """Wait up to ``timeout`` for results; restarts dead and hung workers."""
        done: list[JobDone] = []
        waitables: list[Any] = []
        for w in self.workers:
            if w.conn is not None and w.state in ("busy", "starting", "restarting"):
                waitables += [w.conn, w.process.sentinel]
        if waitables:
            wait(waitables, timeout)
        elif timeout > 0:
            time.sleep(timeout)
        now = time.monotonic()
        for w in self.workers:
            if w.conn is None and w.spawn_at is not None and now >= w.spawn_at:
                w.spawn()
            if w.conn is None or w.state not in ("busy", "starting", "restarting"):
                continue
            try:
                while w.conn.poll():
                    msg = w.conn.recv()
                    if msg[0] == "result" and w.job is not None and msg[1] == w.job.id:
                        self._on_result(w, w.job, msg, done)
                    elif msg[0] in ("ready", "error"):
                        try:
                            self._on_ready(w, msg)
                            log.info("detector worker %d ready again (pid %s)", w.index, w.pid)
                        except DetectorError as e:
                            w.last_error = str(e)
                            self._restart(w, done, f"reload failed: {e}")
            except (EOFError, OSError):
                self._restart(w, done, w.exit_text())
                continue
            if w.state == "busy" and not w.process.is_alive():
                self._restart(w, done, w.exit_text())
            elif w.state == "busy" and w.job is not None and now - w.job.started > self.job_timeout:
                self._restart(w, done, f"worker hung for over {self.job_timeout:.0f} s")
            elif w.state in ("starting", "restarting") and now - w.started_at > self.load_timeout:
                self._restart(w, done, "worker did not reload its model in time")
        return done

    def _on_result(self, w: Worker, job: Job, msg: tuple[Any, ...], done: list[JobDone]) -> None:
        _, _, found, ms, rss = msg
        boxes = []
        for look, f in zip(job.looks, found, strict=True):
            assert isinstance(look, Look)
            boxes.append(look.placement.to_frame(f, self.labels))
        w.inferences += 1
        w.images += len(boxes)
        w.total_ms += ms
        w.last_ms, w.rss = ms, rss
        done.append(JobDone(w, job, boxes, ms))
        w.job, w.state = None, "ready"
        w.failures = 0

    def _restart(self, w: Worker, done: list[JobDone], why: str) -> None:
        log.warning("detector worker %d (pid %s): %s; restarting", w.index, w.pid, why)
        w.last_error = why
        if w.job is not None:
            done.append(JobDone(w, w.job, None, error=why))
            w.job = None
        w.kill()
        w.restarts += 1
        w.failures += 1
        # A model that keeps failing (file gone, GPU lost) must not spin: back off
        # 0.5 s, 1 s, 2 s ... up to 30 s between attempts.
        w.state = "restarting"
        w.spawn_at = time.monotonic() + min(30.0, 0.5 * 2 ** min(w.failures - 1, 6))

    def stop(self) -> None:
        for w in self.workers:
            w.stop()
            w.release()

    def stats(self) -> Sequence[DetectorWorkerStats]:
        return [w.stats() for w in self.workers]
