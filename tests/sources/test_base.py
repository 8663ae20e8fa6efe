"""Behaviour every source shares (exercised through the test pattern, the cheapest)."""

from __future__ import annotations

import threading

import pytest

from camhub.sources import open_source
from camhub.types import FrameSource, SourceError
from tests.sources.helpers import stop_cleanly

pytestmark = pytest.mark.timeout(30)


def _reader_threads() -> int:
    return sum(t.name.startswith("camhub-source-") for t in threading.enumerate())


def test_reader_starts_lazily_and_stops() -> None:
    before = _reader_threads()
    source = open_source("testsrc:64x48@50", "lazy")
    assert _reader_threads() == before
    assert not source.status().connected
    source.read(timeout=2)
    assert _reader_threads() == before + 1
    stop_cleanly(source)
    assert _reader_threads() == before
    # A frame made just before the stop may still be taken; then reads say why.
    assert source.pending <= 1
    for _ in range(source.pending):
        source.read(timeout=0.5)
    with pytest.raises(SourceError, match="stopped"):
        source.read(timeout=0.5)


def test_never_returns_the_same_frame_twice() -> None:
    source = open_source("testsrc:64x48@20", "once")
    try:
        seqs = [source.read(timeout=2).seq for _ in range(5)]
    finally:
        source.stop()
    assert len(set(seqs)) == 5


def test_status_reports_fps_and_frames() -> None:
    source = open_source("testsrc:64x48@25", "stat")
    try:
        for _ in range(15):
            source.read(timeout=2)
        status = source.status()
    finally:
        source.stop()
    assert status.connected and status.reconnects == 0 and status.last_error is None
    assert status.frames >= 15 and 18 < status.fps < 32
    assert status.uri == "testsrc:64x48@25"


def test_satisfies_the_frame_source_protocol() -> None:
    source: FrameSource = open_source("testsrc")
    assert source.name == "testsrc"
    source.stop()
