"""What the API says when things are wrong: offline cameras, unknown paths, frames with
no picture form, hub health (uptime, malformed and refused senders)."""

from __future__ import annotations

import re
import shutil
from contextlib import nullcontext
from pathlib import Path

import httpx
import numpy as np
import pytest
import zmq
from starlette.testclient import TestClient

import camhub
from camhub.security import CurveClient, CurveServer, HubRefused, write_key_pair
from camhub.web import WebServer
from tests.conftest import wait_until
from tests.web.conftest import jpegs

pytestmark = pytest.mark.timeout(60)


def _client(web: WebServer) -> httpx.Client:
    return httpx.Client(base_url=web.url, timeout=5)


def _metric(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.MULTILINE)
    assert match, f"{name}{labels} missing from /metrics"
    return float(match.group(1))


def test_offline_camera_reports_zero_fps_in_api_and_metrics(
    hub: camhub.Hub, api: TestClient
) -> None:
    with camhub.Sender(hub.endpoint, window=4) as sender:
        for jpeg in jpegs(20):
            assert sender.send_jpeg("phone", jpeg)
        assert sender.flush(5)
    with nullcontext(api) as client:
        first = client.get("/api/cameras/phone").json()
        assert first["fps"] > 0 and first["kbps"] > 0 and first["online"]
        wait_until(
            lambda: client.get("/api/cameras/phone").json()["online"] is False,
            what="the camera to go offline",
        )
        gone = client.get("/api/cameras/phone").json()
        text = client.get("/metrics").text
    assert (gone["fps"], gone["kbps"]) == (0.0, 0.0)
    assert gone["idle_s"] >= hub.offline_after
    assert gone["frames"] == 20  # history stays
    assert _metric(text, "camhub_camera_fps", '{camera="phone"}') == 0.0
    assert _metric(text, "camhub_camera_online", '{camera="phone"}') == 0
    assert _metric(text, "camhub_camera_idle_seconds", '{camera="phone"}') >= hub.offline_after


def test_metrics_print_no_float_noise(hub: camhub.Hub, api: TestClient) -> None:
    with camhub.Sender(hub.endpoint, window=4) as sender:
        for jpeg in jpegs(10):
            assert sender.send_jpeg("cam", jpeg)
        assert sender.flush(5)
    wait_until(lambda: (s := hub.camera_stats("cam")) is not None and s.frames == 10)
    with nullcontext(api) as client:
        text = client.get("/metrics").text
    values = [line.rsplit(" ", 1)[1] for line in text.splitlines() if not line.startswith("#")]
    assert values
    noisy = [v for v in values if "." in v and len(v.split(".")[1]) > 6]
    assert not noisy, f"float noise in /metrics: {noisy}"


def test_unknown_api_paths_and_empty_names_get_json_errors(api: TestClient) -> None:
    with nullcontext(api) as client:
        for path in ("/api/cameras/", "/api/nothing", "/api/cameras/x/nothing.png/..", "/api"):
            resp = client.get(path)
            assert resp.status_code == 404, path
            assert resp.headers["content-type"].startswith("application/json"), path
            assert resp.json()["error"], path
        assert "/api/cameras" in client.get("/api/cameras/").json()["error"]
        assert "'nosuch'" in client.get("/api/cameras/nosuch").json()["error"]
        page = client.get("/no-such-page")  # pages keep plain text
        assert page.status_code == 404 and page.text == "Not Found"


@pytest.mark.parametrize(
    ("array", "what"),
    [
        (np.random.default_rng(1).random((48, 64, 3)), "float64"),
        (np.zeros((2, 48, 64, 3), np.uint8), "(2, 48, 64, 3)"),
    ],
)
def test_snapshot_of_a_frame_with_no_picture_form_is_a_clear_415(
    hub: camhub.Hub, api: TestClient, array: np.ndarray, what: str, caplog: pytest.LogCaptureFixture
) -> None:
    with camhub.Sender(hub.endpoint) as sender:
        assert sender.send_image("odd", array)
        assert sender.flush(5)  # close() does not wait for the reply
    wait_until(lambda: hub.latest("odd") is not None)
    with nullcontext(api) as client:
        resp = client.get("/api/cameras/odd/snapshot.jpg")
        assert resp.status_code == 415
        assert what in resp.json()["error"] and "uint8" in resp.json()["error"]
        assert client.get("/api/cameras/odd").status_code == 200  # the rest still works
    assert "Traceback" not in caplog.text


def test_hub_health_counts_malformed_and_refused_senders(tmp_path: Path) -> None:
    keys, authorized = tmp_path / "keys", tmp_path / "authorized"
    for name in ("hub", "cam", "intruder"):
        write_key_pair(keys, name)
    authorized.mkdir()
    shutil.copy(keys / "cam.key", authorized / "cam.key")
    server = CurveServer(keys / "hub.key_secret", authorized, reload_interval=None)
    with (
        camhub.Hub("tcp://127.0.0.1:0", security=server) as hub,
        WebServer(hub, "127.0.0.1:0") as web,
    ):
        intruder = camhub.Sender(
            hub.endpoint,
            security=CurveClient(keys / "hub.key", keys / "intruder.key_secret"),
            timeout=5.0,
            on_timeout="raise",
        )
        try:
            with pytest.raises(HubRefused):
                intruder.send_jpeg("evil", jpegs(1)[0])
        finally:
            intruder.close()
        # A well-keyed peer that speaks garbage counts as malformed, by address.
        ctx = zmq.Context.instance()
        raw = ctx.socket(zmq.DEALER)
        CurveClient(keys / "hub.key", keys / "cam.key_secret").apply(raw, server=False)
        raw.connect(hub.endpoint)
        raw.send_multipart([b"", b"not json"])
        assert raw.poll(5000)
        raw.close(linger=0)
        wait_until(lambda: hub.malformed == 1 and server.refusals >= 1)
        with _client(web) as client:
            health = client.get("/api/cameras").json()["hub"]
            text = client.get("/metrics").text
    assert health["secure"] is True
    assert health["refused"] >= 1 and health["refused_by_reason"]["unknown_key"] >= 1
    assert health["refused_by_address"] == {"127.0.0.1": health["refused"]}
    assert health["malformed"] == 1 and health["malformed_by_peer"] == {"127.0.0.1": 1}
    assert health["uptime_s"] >= 0
    assert _metric(text, "camhub_refused_total", '{reason="unknown_key"}') >= 1
    assert _metric(text, "camhub_malformed_messages_total") == 1
    assert _metric(text, "camhub_uptime_seconds") >= 0
