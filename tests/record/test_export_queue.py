"""The export queue on its real worker thread: bounded, deduplicated, cancelled when
every requester leaves. Jobs wait on events the test sets, so nothing depends on time."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from camhub.record.export_queue import ExportQueue, JobCancelled, QueueFull
from tests.conftest import wait_until

pytestmark = pytest.mark.timeout(60)


class Jobs:
    """Makers that record that they ran and block until the test releases them."""

    def __init__(self) -> None:
        self.ran: list[str] = []
        self.gate = threading.Event()
        self.saw_cancel: list[str] = []

    def make(self, name: str) -> Callable[[threading.Event], str]:
        def run(cancelled: threading.Event) -> str:
            self.ran.append(name)
            while not self.gate.wait(0.01):
                if cancelled.is_set():
                    self.saw_cancel.append(name)
                    raise JobCancelled(name)
            return name.upper()

        return run


@pytest.fixture
def queue() -> Iterator[ExportQueue[str]]:
    q: ExportQueue[str] = ExportQueue("test", max_pending=2)
    yield q
    q.close()


def test_the_queue_is_bounded_and_says_when_to_come_back(queue: ExportQueue[str]) -> None:
    jobs = Jobs()
    running = queue.submit("a", jobs.make("a"))
    wait_until(lambda: jobs.ran == ["a"], 10, "a running")
    waiting = [queue.submit(k, jobs.make(k)) for k in ("b", "c")]
    with pytest.raises(QueueFull, match="2 test exports are waiting") as info:
        queue.submit("d", jobs.make("d"))
    assert info.value.retry_after >= 1
    assert queue.refused == 1
    jobs.gate.set()
    assert [t.result(10) for t in (running, *waiting)] == ["A", "B", "C"]
    assert jobs.ran == ["a", "b", "c"] and queue.done == 3


def test_same_key_shares_one_job_even_when_full(queue: ExportQueue[str]) -> None:
    jobs = Jobs()
    first = queue.submit("a", jobs.make("a"))
    wait_until(lambda: jobs.ran == ["a"], 10, "a running")
    queue.submit("b", jobs.make("b"))
    queue.submit("c", jobs.make("c"))
    again = [queue.submit("a", jobs.make("a-again")) for _ in range(5)]  # running job
    later = queue.submit("c", jobs.make("c-again"))  # waiting job
    assert queue.shared == 6 and queue.refused == 0
    jobs.gate.set()
    assert {t.result(10) for t in [first, *again]} == {"A"}
    assert later.result(10) == "C"
    assert jobs.ran == ["a", "b", "c"]


def test_a_waiting_job_nobody_wants_is_dropped(queue: ExportQueue[str]) -> None:
    jobs = Jobs()
    queue.submit("a", jobs.make("a"))
    wait_until(lambda: jobs.ran == ["a"], 10, "a running")
    b1 = queue.submit("b", jobs.make("b"))
    b2 = queue.submit("b", jobs.make("b"))
    b1.release()
    assert queue.pending == 1 and queue.cancelled == 0  # b2 still waits
    b2.release()
    b2.release()  # idempotent
    assert queue.pending == 0 and queue.cancelled == 1
    assert b2.future.cancelled()
    jobs.gate.set()
    queue.submit("z", jobs.make("z")).result(10)
    assert jobs.ran == ["a", "z"]  # b never ran


def test_a_running_job_is_told_to_stop_when_its_requester_leaves(
    queue: ExportQueue[str],
) -> None:
    jobs = Jobs()
    ticket = queue.submit("a", jobs.make("a"))
    wait_until(lambda: jobs.ran == ["a"], 10, "a running")
    ticket.release()
    wait_until(lambda: jobs.saw_cancel == ["a"], 10, "a cancelled")
    with pytest.raises(JobCancelled):
        ticket.result(10)
    assert queue.cancelled == 1 and queue.failed == 0
    # The same key asked again afterwards is a new job.
    jobs.gate.set()
    assert queue.submit("a", jobs.make("a2")).result(10) == "A2"


def test_close_stops_the_running_job_and_refuses_new_ones() -> None:
    queue: ExportQueue[str] = ExportQueue("test", max_pending=2)
    jobs = Jobs()
    running = queue.submit("a", jobs.make("a"))
    waiting = queue.submit("b", jobs.make("b"))
    wait_until(lambda: jobs.ran == ["a"], 10, "a running")
    queue.close()
    assert jobs.saw_cancel == ["a"]
    assert waiting.future.cancelled()
    with pytest.raises(JobCancelled):
        running.result(1)
    with pytest.raises(JobCancelled, match="closed"):
        queue.submit("c", jobs.make("c"))
