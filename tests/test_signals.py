"""Ctrl-C and SIGTERM stop a command cleanly, a second one stops it at once, a parent
that blocked them cannot make it unstoppable, and SIGUSR1 prints every thread's stack."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator

import pytest

from camhub.signals import stop_on_signals
from tests.conftest import wait_until


@pytest.fixture
def unblocked() -> Iterator[None]:
    before = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    yield
    signal.pthread_sigmask(signal.SIG_SETMASK, before)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_sets_the_stop_flag_and_logs_it(
    sig: signal.Signals, caplog: pytest.LogCaptureFixture
) -> None:
    stop = threading.Event()
    before = signal.getsignal(sig)
    with caplog.at_level("INFO", logger="camhub"), stop_on_signals(stop):
        os.kill(os.getpid(), sig)
        wait_until(stop.is_set, 5, what="the stop flag")
        wait_until(lambda: f"stopping ({sig.name} received)" in caplog.text, 5)
    assert signal.getsignal(sig) is before  # the previous handler is back


def test_a_second_signal_stops_at_once() -> None:
    stop = threading.Event()
    with pytest.raises(KeyboardInterrupt), stop_on_signals(stop):
        os.kill(os.getpid(), signal.SIGTERM)
        wait_until(stop.is_set, 5)
        os.kill(os.getpid(), signal.SIGTERM)
        threading.Event().wait(5)  # the handler raises here, between two bytecodes
    assert stop.is_set()


def test_a_signal_while_the_main_thread_waits_on_the_flag_in_a_loop() -> None:
    # The main loop of every command: short waits on the flag the signal sets.
    stop = threading.Event()
    killer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM))
    with stop_on_signals(stop):
        killer.start()
        for _ in range(1000):  # 10 s at most
            if stop.wait(0.01):
                break
    killer.join()
    assert stop.is_set()


def test_a_signal_the_parent_blocked_is_unblocked_and_works(
    unblocked: None, caplog: pytest.LogCaptureFixture
) -> None:
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
    stop = threading.Event()
    with caplog.at_level("WARNING", logger="camhub"), stop_on_signals(stop):
        assert signal.SIGTERM not in signal.pthread_sigmask(signal.SIG_BLOCK, [])
        os.kill(os.getpid(), signal.SIGTERM)
        wait_until(stop.is_set, 5)
    assert "SIGTERM was blocked by the parent process; unblocked" in caplog.text


def test_outside_the_main_thread_it_does_nothing() -> None:
    stop = threading.Event()
    before = signal.getsignal(signal.SIGTERM)
    seen: list[object] = []

    def run() -> None:
        with stop_on_signals(stop):
            seen.append(signal.getsignal(signal.SIGTERM))

    t = threading.Thread(target=run)
    t.start()
    t.join(5)
    assert seen == [before] and not stop.is_set()
