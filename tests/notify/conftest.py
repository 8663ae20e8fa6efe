"""Fixtures for the notification sinks: a real mosquitto broker and real subscribers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from camhub.bus import EventBus
from tests.servers.mosquitto import Broker, Subscriber


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    b = Broker(tmp_path).start()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture
def subscriber(broker: Broker) -> Iterator[Subscriber]:
    sub = Subscriber(broker, "camhub/#").wait_ready()
    try:
        yield sub
    finally:
        sub.close()


@pytest.fixture
def bus() -> Iterator[EventBus]:
    b = EventBus()
    try:
        yield b
    finally:
        b.close()
