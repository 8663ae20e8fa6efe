"""The events API's label filter takes a label's old name too (in-process: the HTTP layer
is beside the point, the filter is)."""

from __future__ import annotations

import time
from pathlib import Path

from starlette.applications import Starlette
from starlette.testclient import TestClient

from camhub.bus import EventBus
from camhub.events import Event
from camhub.history import History
from camhub.store import CameraStore
from camhub.web.events_api import EventsApi


def test_old_and_coco_names_find_the_same_events(tmp_path: Path) -> None:
    bus = EventBus()
    store = CameraStore(bus)
    history = History(store, bus, tmp_path)
    try:
        # One saved before the built-in labels took COCO's names, one after, one other.
        now = time.time()  # (older events are pruned)
        old = Event(camera="drive", label="motorbike", start=now - 30, end=now - 25)
        new = Event(camera="drive", label="motorcycle", start=now - 20, end=now - 15)
        car = Event(camera="drive", label="car", start=now - 10, end=now - 5)
        for event in (old, new, car):
            history.store.save(event)
        assert history.store.flush()
        client = TestClient(Starlette(routes=EventsApi(history).routes()))
        for asked in ("motorbike", "motorcycle"):
            got = client.get("/api/events", params={"label": asked}).json()["events"]
            assert [e["id"] for e in got] == [new.id, old.id], asked
        got = client.get("/api/events", params={"label": "car"}).json()["events"]
        assert [e["id"] for e in got] == [car.id]
        assert client.get("/api/events", params={"label": "bus"}).json()["events"] == []
    finally:
        history.store.close()
        history.index.close()
        store.stop()
