"""Browser cameras count in the hub-wide counters like every other sender (issue 19,
item 9): refusals and bad frames in ``/api/cameras``' hub section (which the dashboard
header shows), in ``/metrics``, and a bad frame against its camera. In process
(Starlette's TestClient): no socket is the point here; the phone's WebSocket is real."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

import camhub
from camhub.phones import DeviceRegistry
from camhub.phones.wire import encode_frame
from camhub.web import create_app
from camhub.web.phone import Phones

pytestmark = pytest.mark.timeout(60)


def _metric(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.MULTILINE)
    assert match, f"{name}{labels} missing from /metrics"
    return float(match.group(1))


@pytest.fixture
def hub() -> Iterator[camhub.Hub]:
    with camhub.Hub("tcp://127.0.0.1:0", offline_after=30.0) as h:
        yield h


@pytest.fixture
def phones(hub: camhub.Hub, tmp_path: Path) -> Phones:
    return Phones(
        DeviceRegistry(tmp_path / "phones"),
        hub.store.put,
        limits=hub.limits,
        bus=hub.bus,
        count_malformed=hub.store.count_malformed,
    )


def _closed_with(ws: object) -> str:
    """The reason of the hub's 'refused' message, read until the socket closes."""
    reason = ""
    try:
        while True:
            msg = json.loads(ws.receive_text())  # type: ignore[attr-defined]
            if msg["type"] == "refused":
                reason = msg["reason"]
    except WebSocketDisconnect:
        return reason


def test_phone_refusals_and_bad_frames_count_with_the_hubs_own(
    hub: camhub.Hub, phones: Phones
) -> None:
    token = phones.registry.pair(phones.registry.pairing_code, "pixel")
    jpeg = camhub.encode_jpeg(np.full((48, 64, 3), 128, np.uint8))
    with TestClient(create_app(hub, phones=phones)) as client:
        with client.websocket_connect("/cam/ws") as ws:
            ws.send_text(json.dumps({"type": "hello", "token": "not-a-token"}))
            assert "unknown device token" in _closed_with(ws)
        with client.websocket_connect("/cam/ws") as ws:
            ws.send_text(json.dumps({"type": "hello", "token": token}))
            assert json.loads(ws.receive_text())["type"] == "welcome"
            ws.send_bytes(encode_frame(jpeg, 1, time.time()))
            assert json.loads(ws.receive_text())["type"] == "ack"
            ws.send_bytes(encode_frame(b"not a jpeg", 2, time.time()))
            assert "not a JPEG" in _closed_with(ws)
        health = client.get("/api/cameras").json()["hub"]
        camera = client.get("/api/cameras/pixel").json()
        text = client.get("/metrics").text
        clients = {c["client"]: c for c in client.get("/api/phones").json()["clients"]}
    assert health["refused"] == 1 and health["refused_by_reason"] == {"phone_token": 1}
    assert health["refused_by_address"] == {"testclient": 1}
    assert health["malformed"] == 1 and health["malformed_by_peer"] == {"pixel (browser)": 1}
    assert health["messages"] == 2
    assert camera["malformed"] == 1 and camera["frames"] == 1
    assert _metric(text, "camhub_refused_total", '{reason="phone_token"}') == 1
    assert _metric(text, "camhub_malformed_messages_total") == 1
    assert _metric(text, "camhub_messages_total") == 2
    assert _metric(text, "camhub_camera_malformed_total", '{camera="pixel"}') == 1
    # /api/phones keeps its per-client view.
    assert clients["testclient"]["refused"] == 1 and clients["pixel"]["malformed"] == 1


def test_zeromq_and_phone_counters_add_up(hub: camhub.Hub, phones: Phones) -> None:
    import zmq

    raw = zmq.Context.instance().socket(zmq.REQ)
    raw.setsockopt(zmq.LINGER, 0)
    raw.setsockopt(zmq.RCVTIMEO, 3000)
    raw.connect(hub.endpoint)
    try:
        raw.send_multipart([b"{not json", b"x"])
        assert raw.recv().startswith(b"ERR")
    finally:
        raw.close()
    with TestClient(create_app(hub, phones=phones)) as client:
        response = client.post("/cam/pair", json={"code": "wrong", "name": "x"})
        assert response.status_code == 403
        health = client.get("/api/cameras").json()["hub"]
        text = client.get("/metrics").text
    assert health["malformed"] == 1 and list(health["malformed_by_peer"]) == ["127.0.0.1"]
    assert health["refused"] == 1 and health["refused_by_reason"] == {"phone_pairing": 1}
    assert health["messages"] == 1
    assert _metric(text, "camhub_refused_total", '{reason="phone_pairing"}') == 1
    assert _metric(text, "camhub_malformed_messages_total") == 1
