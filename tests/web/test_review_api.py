"""The review page's data over HTTP: filters from the data, keyset pages over the whole
history, and marks of reviewed events (a real hub, History and dashboard)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

import camhub
from camhub.events import Event
from camhub.history import History
from camhub.record.settings import CameraRecording, RecordSettings
from camhub.web.app import create_app

pytestmark = pytest.mark.timeout(120)
T0 = float(int(time.time()) - 3600)  # recent: older events would go with the retention


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data: Path = tmp_path_factory.mktemp("data")
    hub = camhub.Hub("tcp://127.0.0.1:0").start()
    settings = RecordSettings(cameras={"porch": CameraRecording("events")}, min_free_gb=0)
    history = History(hub.store, hub.bus, data, settings).start()
    for i in range(230):
        history.store.save(
            Event(
                camera=["porch", "yard", "gate"][i % 3],
                label=["person", "car", "motion", "offline"][i % 4],
                start=T0 + i,
                end=T0 + i + 0.5,
                score=0.61,
                zones=["steps"] if i % 5 == 0 else [],
            )
        )
    assert history.store.flush()
    with TestClient(create_app(hub, history=history)) as client:
        yield client
    history.stop()
    hub.stop()


def _get(api: TestClient, **params: Any) -> dict[str, Any]:
    resp = api.get("/api/events", params=params)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def test_filters_come_from_the_data(api: TestClient) -> None:
    f = api.get("/api/events/facets").json()
    assert f["cameras"] == ["gate", "porch", "yard"]  # each camera once
    assert f["labels"] == ["car", "motion", "offline", "person"]
    assert f["zones"] == ["steps"]
    assert (f["first"], f["last"]) == (T0, T0 + 229)
    assert f["recording"] == {"gate": "off", "porch": "events", "yard": "off"}


def test_pages_cover_the_whole_history(api: TestClient) -> None:
    ids: list[str] = []
    cursor = None
    while True:
        page = _get(api, limit=100, **({"cursor": cursor} if cursor else {}))
        ids += [e["id"] for e in page["events"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert len(ids) == len(set(ids)) == 230
    starts = [float(i.split("-")[0]) for i in ids]
    assert starts == sorted(starts, reverse=True)
    porch = _get(api, camera="porch", label="person", zone="steps", limit=1000)["events"]
    assert porch and all(
        e["camera"] == "porch" and e["label"] == "person" and e["zones"] == ["steps"]
        and e["score"] == 0.61 for e in porch
    )  # fmt: skip
    older = _get(api, before=T0 + 10, limit=1000)["events"]
    assert max(e["start"] for e in older) == T0 + 10 and len(older) == 11


def test_marking_reviewed_persists_and_filters(api: TestClient) -> None:
    first = _get(api, limit=3)["events"]
    ids = [e["id"] for e in first]
    resp = api.post("/api/events/reviewed", json={"ids": ids, "reviewed": True})
    assert resp.json() == {"changed": 3, "reviewed": True}
    again = _get(api, limit=3)["events"]
    assert all(isinstance(e["reviewed"], float) for e in again)
    assert not {e["id"] for e in _get(api, reviewed=0, limit=1000)["events"]} & set(ids)
    assert {e["id"] for e in _get(api, reviewed=1)["events"]} == set(ids)
    api.post("/api/events/reviewed", json={"ids": ids[:1], "reviewed": False})
    assert {e["id"] for e in _get(api, reviewed=1)["events"]} == set(ids[1:])


def test_bad_requests_say_why(api: TestClient) -> None:
    bad = api.get("/api/events", params={"cursor": "nope"})
    assert bad.status_code == 400 and "cursor" in bad.json()["error"]
    assert api.get("/api/events?reviewed=maybe").status_code == 400
    form = api.post("/api/events/reviewed", data={"ids": "x"})
    assert form.status_code == 415  # a cross-site form cannot mark events
    wrong = api.post("/api/events/reviewed", json={"ids": "x"})
    assert wrong.status_code == 400 and "ids" in wrong.json()["error"]
    many = api.post("/api/events/reviewed", json={"ids": ["a"] * 1001})
    assert many.status_code == 400
