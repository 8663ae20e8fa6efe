"""Detector worker processes: each loads its model once and runs batches of images.

Processes, not threads, so that inference never competes with ingest for the GIL and a
crashed model (a segfault in a native library) takes down only its worker. The pool
restarts a worker that dies or stays on one job longer than ``job_timeout``; the owner
learns which job failed and can tell its cameras' viewers.

Messages over each worker's pipe (pickled):

* worker -> hub: ``("ready", labels, input_size, batch_size)`` once loaded, or
  ``("error", message)`` if the model cannot load; ``("result", job_id, boxes, ms, rss)``
  per job, boxes as one list of :class:`~camhub.detect.base.Box` per image.
* hub -> worker: ``(job_id, [image, ...])``; ``None`` to stop.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing as mp
import os
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any, Literal

from camhub.detect.base import Box, DetectorError
from camhub.detect.stats import DetectorWorkerStats
from camhub.types import ArgumentError, Image

log = logging.getLogger("camhub.detect")

WorkerState = Literal["starting", "ready", "busy", "restarting", "stopped"]


@dataclass(frozen=True, slots=True)
class DetectorSpec:
    """What each worker builds: ``create_detector(type_name, **options)``, after
    importing ``modules`` (where third-party detectors register themselves)."""

    type_name: str = "darknet"
    options: dict[str, Any] = field(default_factory=dict)
    modules: tuple[str, ...] = ()
    threads: int = 1
    """Native threads per worker (OpenCV, ONNX Runtime intra-op)."""


def _rss() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def worker_main(conn: Connection, spec: DetectorSpec) -> None:
    """Body of a worker process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the hub decides when workers stop
    try:
        import cv2

        cv2.setNumThreads(spec.threads)
        for module in spec.modules:
            importlib.import_module(module)
        from camhub.detect import create_detector

        options = dict(spec.options)
        if spec.type_name == "onnx":
            options.setdefault("threads", spec.threads)
        detector = create_detector(spec.type_name, **options)
        detector.load()
    except Exception as e:  # report any load failure to the hub, then exit
        conn.send(("error", str(e) or type(e).__name__))
        conn.close()
        return
    conn.send(("ready", list(detector.labels), tuple(detector.input_size), detector.batch_size))
    try:
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                break
            if msg is None:
                break
            job_id, images = msg
            start = time.perf_counter()
            boxes: list[list[Box]] = detector.detect(images)
            ms = (time.perf_counter() - start) * 1000
            conn.send(("result", job_id, boxes, ms, _rss()))
    finally:
        detector.close()
        conn.close()


@dataclass(slots=True)
class Job:
    id: int
    items: list[Any]
    """Whatever the owner needs to route results (one per image)."""
    started: float


@dataclass(slots=True)
class JobDone:
    worker: Worker
    job: Job
    boxes: list[list[Box]] | None
    """``None`` when the worker crashed or hung on this job."""
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

    @property
    def pid(self) -> int | None:
        return None if self.process is None else int(self.process.pid)

    def spawn(self) -> None:
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        self.process = ctx.Process(
            target=worker_main,
            args=(child, self.spec),
            name=f"camhub-detect-{self.index}",
            daemon=True,
        )
        self.process.start()
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
        self._next_job = 1

    def start(self) -> DetectorPool:
        """Start every worker and wait until each has loaded its model; a model that
        cannot load fails here, with the worker's message."""
        for w in self.workers:
            w.spawn()
        try:
            for w in self.workers:
                self._await_ready(w)
        except BaseException:
            self.stop()
            raise
        return self

    def _await_ready(self, w: Worker) -> None:
        assert w.conn is not None
        if not w.conn.poll(self.load_timeout):
            raise DetectorError(
                f"detector worker did not load its model in {self.load_timeout:.0f} s"
            )
        try:
            msg = w.conn.recv()
        except (EOFError, OSError):
            w.process.join(timeout=5)
            raise DetectorError(
                f"detector worker exited while loading its model (exit code "
                f"{w.process.exitcode}); workers are spawned, so a script that starts "
                'detection needs an `if __name__ == "__main__":` guard'
            ) from None
        self._on_ready(w, msg)

    def _on_ready(self, w: Worker, msg: tuple[Any, ...]) -> None:
        if msg[0] == "error":
            raise DetectorError(str(msg[1]))
        _, labels, size, batch = msg
        self.labels, self.input_size, self.batch_size = list(labels), tuple(size), int(batch)
        w.state = "ready"

    def free(self) -> Worker | None:
        for w in self.workers:
            if w.state == "ready":
                return w
        return None

    def submit(self, w: Worker, images: list[Image], items: list[Any]) -> Job:
        assert w.state == "ready" and w.conn is not None
        job = Job(self._next_job, items, time.monotonic())
        self._next_job += 1
        w.job = job
        w.state = "busy"
        try:
            w.conn.send((job.id, images))
        except (OSError, ValueError):
            pass  # the worker died: the next poll notices and restarts it
        return job

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
                        _, _, boxes, ms, rss = msg
                        w.inferences += 1
                        w.images += len(boxes)
                        w.total_ms += ms
                        w.last_ms, w.rss = ms, rss
                        done.append(JobDone(w, w.job, boxes, ms))
                        w.job, w.state = None, "ready"
                        w.failures = 0
                    elif msg[0] in ("ready", "error"):
                        try:
                            self._on_ready(w, msg)
                            log.info("detector worker %d ready again (pid %s)", w.index, w.pid)
                        except DetectorError as e:
                            w.last_error = str(e)
                            self._restart(w, done, f"reload failed: {e}")
            except (EOFError, OSError):
                self._restart(w, done, f"worker exited (code {w.process.exitcode})")
                continue
            if w.state == "busy" and not w.process.is_alive():
                self._restart(w, done, f"worker exited (code {w.process.exitcode})")
            elif w.state == "busy" and w.job is not None and now - w.job.started > self.job_timeout:
                self._restart(w, done, f"worker hung for over {self.job_timeout:.0f} s")
            elif w.state in ("starting", "restarting") and now - w.started_at > self.load_timeout:
                self._restart(w, done, "worker did not reload its model in time")
        return done

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

    def stats(self) -> Sequence[DetectorWorkerStats]:
        return [w.stats() for w in self.workers]
