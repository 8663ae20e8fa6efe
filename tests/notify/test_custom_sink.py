"""A new notification sink is one module plus one registration line: the test-only
JSON-lines sink gets new, update and end through a real bus from a real producer."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from camhub.bus import EventBus
from camhub.events import EventManager, EventTracker, EventUpdate
from camhub.notify import base, sink_class, sink_types


@pytest.fixture
def jsonl(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Import the sink's module as a user would; its registration ends with the test."""
    sink_types()  # the built-in sinks register first, into the registry kept afterwards
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))
    monkeypatch.delitem(sys.modules, "tests.notify.jsonl_sink", raising=False)
    return importlib.import_module("tests.notify.jsonl_sink")


def test_a_jsonl_sink_receives_every_change_through_the_bus(
    jsonl: ModuleType, tmp_path: Path
) -> None:
    assert "jsonl" in sink_types() and sink_class("jsonl") is jsonl.JsonLinesSink
    bus = EventBus()
    manager = EventManager(bus).start()
    seen: list[EventUpdate] = []
    watcher = bus.subscribe(seen.append, name="watcher", kinds=(EventUpdate,))
    path = tmp_path / "events.jsonl"
    sink = sink_class("jsonl").from_settings(jsonl.JsonLinesSettings(path=path)).start(bus)
    try:
        tracker = EventTracker("porch", "person", bus.publish, min_frames=1, update_every=0)
        for i, score in enumerate([0.4, 0.7, 0.9]):
            tracker.observe(100.0 + i, True, score=score, snapshot=b"\xff\xd8%d" % i)
        tracker.end()
        assert sink.flush() and watcher.flush()
    finally:
        sink.stop()
        manager.stop()
        bus.close()
    lines = path.read_bytes().splitlines()
    assert lines == [u.json for u in seen]  # the very bytes every other output sends
    bodies = [json.loads(line) for line in lines]
    assert [b["type"] for b in bodies] == ["new", "update", "update", "end"]
    assert bodies[0]["before"] == bodies[0]["after"]
    assert [b["after"]["top_score"] for b in bodies] == [0.4, 0.7, 0.9, 0.9]
    assert bodies[-1]["after"]["end_time"] == 102.0
    stats = sink.stats()
    assert (stats.sent, stats.dropped, stats.errors, stats.type) == (4, 0, 0, "jsonl")
