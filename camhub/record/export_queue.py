"""A bounded, deduplicating, cancellable queue for work done on request (clip exports).

What a job makes is not this module's business: ``submit(key, make)`` takes a key that
says which result is wanted and ``make(cancelled)``, which produces it on the queue's
one worker thread and should give up (raise :class:`JobCancelled`) once ``cancelled``
is set.

* **Bounded.** At most ``max_pending`` jobs wait behind the running one; one more raises
  :class:`QueueFull` with a ``retry_after`` estimate (HTTP answers 429 + Retry-After).
* **Deduplicated.** A request for a key that is already waiting or running shares that
  job (and its result) instead of queueing another: many viewers of one event cost one
  export.
* **Cancelled when nobody waits.** Each request holds a :class:`Ticket`; ``release()``
  says the requester left (a browser that hung up). When the last ticket of a job is
  released before it is done, a waiting job is dropped and a running one is told to stop.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from camhub.types import CamhubError

log = logging.getLogger("camhub.record")

T = TypeVar("T")
Make = Callable[[threading.Event], T]


class QueueFull(CamhubError):
    """Too many jobs are waiting; ask again in ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class JobCancelled(CamhubError):
    """Nobody waits for the job any more (or the queue is closing)."""


@dataclass(eq=False)
class _Job(Generic[T]):
    key: Hashable
    make: Make[T]
    future: Future[T] = field(default_factory=Future)
    cancelled: threading.Event = field(default_factory=threading.Event)
    waiters: int = 1


class Ticket(Generic[T]):
    """One requester's claim on a job's result."""

    def __init__(self, queue: ExportQueue[T] | None, job: _Job[T]) -> None:
        self._queue = queue
        self._job = job
        self._released = False

    @classmethod
    def ready(cls, value: T) -> Ticket[T]:
        """A ticket for a result that needs no job (a cached file)."""
        job: _Job[T] = _Job(None, lambda _cancelled: value)
        job.future.set_result(value)
        return cls(None, job)

    @property
    def future(self) -> Future[T]:
        return self._job.future

    def result(self, timeout: float | None = None) -> T:
        return self._job.future.result(timeout)

    def release(self) -> None:
        """The requester no longer waits (idempotent)."""
        if not self._released:
            self._released = True
            if self._queue is not None:
                self._queue._release(self._job)


class ExportQueue(Generic[T]):
    """Jobs run one at a time on one worker thread (started on the first job)."""

    def __init__(self, name: str, max_pending: int = 8) -> None:
        self.name = name
        self.max_pending = max_pending
        self._cond = threading.Condition()
        self._pending: OrderedDict[Hashable, _Job[T]] = OrderedDict()
        self._running: _Job[T] | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        self._mean_s = 2.0
        self.submitted = 0
        self.shared = 0
        """Requests that joined a job already waiting or running."""
        self.refused = 0
        """Requests refused because ``max_pending`` jobs were waiting."""
        self.cancelled = 0
        """Jobs dropped or stopped because every requester left."""
        self.done = 0
        self.failed = 0

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._pending)

    def submit(self, key: Hashable, make: Make[T]) -> Ticket[T]:
        with self._cond:
            if self._closed:
                raise JobCancelled(f"the {self.name} queue is closed")
            running = self._running
            job = self._pending.get(key)
            if job is None and running is not None and running.key == key:
                job = running
            if job is not None and not job.cancelled.is_set():
                job.waiters += 1
                self.shared += 1
                return Ticket(self, job)
            if len(self._pending) >= self.max_pending:
                self.refused += 1
                wait = max(1, math.ceil(self._mean_s * (len(self._pending) + 1)))
                raise QueueFull(
                    f"{len(self._pending)} {self.name} exports are waiting already; "
                    f"try again in {wait} s",
                    wait,
                )
            job = _Job(key, make)
            self._pending[key] = job
            self.submitted += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"camhub-{self.name}", daemon=True
                )
                self._thread.start()
            self._cond.notify()
            return Ticket(self, job)

    def _release(self, job: _Job[T]) -> None:
        with self._cond:
            job.waiters -= 1
            if job.waiters > 0 or job.future.done() or job.cancelled.is_set():
                return
            job.cancelled.set()
            self.cancelled += 1
            if self._pending.get(job.key) is job:
                del self._pending[job.key]
                job.future.cancel()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                _, job = self._pending.popitem(last=False)
                self._running = job
            if not job.future.set_running_or_notify_cancel():
                continue
            started = time.monotonic()
            try:
                result = job.make(job.cancelled)
            except BaseException as exc:
                if not isinstance(exc, JobCancelled):
                    self.failed += 1
                job.future.set_exception(exc)
            else:
                self.done += 1
                job.future.set_result(result)
            with self._cond:
                self._running = None
                self._mean_s = 0.8 * self._mean_s + 0.2 * (time.monotonic() - started)

    def close(self, timeout: float = 10.0) -> None:
        """Drop waiting jobs, tell the running one to stop, and wait for the worker."""
        with self._cond:
            self._closed = True
            for job in self._pending.values():
                job.cancelled.set()
                job.future.cancel()
            self._pending.clear()
            if self._running is not None:
                self._running.cancelled.set()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
