"""The HTTP API against a real hub fed by real senders: JSON, snapshot, MJPEG, metrics."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from starlette.testclient import TestClient

import camhub
import camhub.jpeg
from camhub.web import WebServer, safe_filename
from tests.conftest import wait_until
from tests.web.conftest import StreamingCamera, jpegs

pytestmark = pytest.mark.timeout(60)


def _client(web: WebServer) -> httpx.Client:
    return httpx.Client(base_url=web.url, timeout=5)


def _send_exactly(hub: camhub.Hub, name: str, frames: list[bytes]) -> None:
    with camhub.Sender(hub.endpoint, window=4) as sender:
        for jpeg in frames:
            assert sender.send_jpeg(name, jpeg)
        assert sender.flush(5)
    wait_until(lambda: (s := hub.camera_stats(name)) is not None and s.frames == len(frames))


def _metric(text: str, name: str, camera: str | None = None) -> float:
    label = "" if camera is None else f'{{camera="{camera}"}}'
    match = re.search(rf"^{re.escape(name + label)} (\S+)$", text, re.MULTILINE)
    assert match, f"{name}{label} missing from /metrics"
    return float(match.group(1))


def test_json_and_metrics_agree_with_what_was_sent(hub: camhub.Hub, api: TestClient) -> None:
    a, b = jpegs(7, (96, 72)), jpegs(4, (64, 48), seed=1)
    _send_exactly(hub, "cam-a", a)
    _send_exactly(hub, "cam-b", b)
    with nullcontext(api) as client:
        data = client.get("/api/cameras").json()
        cams = {c["name"]: c for c in data["cameras"]}
        assert sorted(cams) == ["cam-a", "cam-b"]
        assert cams["cam-a"]["frames"] == 7 and cams["cam-b"]["frames"] == 4
        assert cams["cam-a"]["bytes"] == sum(map(len, a))
        assert cams["cam-b"]["bytes"] == sum(map(len, b))
        assert (cams["cam-a"]["width"], cams["cam-a"]["height"]) == (96, 72)
        assert (cams["cam-b"]["width"], cams["cam-b"]["height"]) == (64, 48)
        assert cams["cam-a"]["online"] is True and cams["cam-a"]["dropped"] == 0
        assert cams["cam-a"]["peer"] == "127.0.0.1"
        assert cams["cam-a"]["age_ms"] is not None
        one = client.get("/api/cameras/cam-b").json()
        assert one["frames"] == 4 and one["links"]["snapshot"] == "/api/cameras/cam-b/snapshot.jpg"
        text = client.get("/metrics").text
    assert _metric(text, "camhub_cameras") == 2
    assert _metric(text, "camhub_frames_received_total", "cam-a") == 7
    assert _metric(text, "camhub_frames_received_total", "cam-b") == 4
    assert _metric(text, "camhub_bytes_received_total", "cam-a") == sum(map(len, a))
    assert _metric(text, "camhub_camera_online", "cam-b") == 1
    assert _metric(text, "camhub_malformed_messages_total") == 0
    assert "# TYPE camhub_frames_received_total counter" in text


def test_health_and_unknown_camera(hub: camhub.Hub, api: TestClient) -> None:
    with nullcontext(api) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        r = client.get("/api/cameras/nope")
        assert r.status_code == 404 and "nope" in r.json()["error"]
        assert client.get("/api/cameras/nope/snapshot.jpg").status_code == 404
        assert client.get("/api/cameras/nope/stream.mjpg").status_code == 404
    hub.stop()
    with nullcontext(api) as client:
        assert client.get("/healthz").status_code == 503


def test_snapshot_is_the_received_jpeg(hub: camhub.Hub, api: TestClient) -> None:
    frames = jpegs(3)
    _send_exactly(hub, "snap", frames)
    with nullcontext(api) as client:
        r = client.get("/api/cameras/snap/snapshot.jpg")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert r.content == frames[-1]
    assert r.headers["cache-control"] == "no-store"


def test_camera_with_an_opaque_payload_shows_as_unsupported(
    hub: camhub.Hub, api: TestClient
) -> None:
    png = b"\x89PNG\r\n\x1a\n not decoded by camhub"
    with camhub.ImageSender(hub.endpoint) as sender:  # imagezmq's send_jpg carries any bytes
        assert sender.send_jpg("png-cam", png) == b"OK"
    with nullcontext(api) as client:
        cam = client.get("/api/cameras/png-cam").json()
        r = client.get("/api/cameras/png-cam/snapshot.jpg")
    assert cam["encoding"] == "other" and cam["unsupported"] == 1 and cam["frames"] == 1
    assert r.status_code == 415 and "not a JPEG" in r.json()["error"]


def _read_mjpeg_parts(web: WebServer, path: str, count: int) -> tuple[str, list[bytes]]:
    parts: list[bytes] = []
    buf = b""
    with _client(web) as client, client.stream("GET", path) as r:
        ctype = r.headers["content-type"]
        boundary = ctype.split("boundary=")[1].encode()
        for chunk in r.iter_bytes():
            buf += chunk
            while True:
                start = buf.find(b"--" + boundary + b"\r\n")
                head_end = buf.find(b"\r\n\r\n", start)
                if start < 0 or head_end < 0:
                    break
                headers = buf[start:head_end].decode()
                length = int(re.search(r"Content-Length: (\d+)", headers).group(1))  # type: ignore[union-attr]
                if len(buf) < head_end + 4 + length + 2:
                    break
                assert "Content-Type: image/jpeg" in headers
                parts.append(buf[head_end + 4 : head_end + 4 + length])
                buf = buf[head_end + 4 + length + 2 :]
            if len(parts) >= count:
                break
    return ctype, parts


def test_mjpeg_stream_carries_the_received_bytes_without_reencoding(
    hub: camhub.Hub,
    web: WebServer,
    cameras: Callable[..., StreamingCamera],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    encodes = 0
    real = camhub.jpeg.encode_jpeg

    def counting(*args: object, **kw: object) -> bytes:
        nonlocal encodes
        encodes += 1
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(camhub.jpeg, "encode_jpeg", counting)
    cam = cameras("mj", fps=30)
    wait_until(lambda: hub.latest("mj") is not None)
    ctype, parts = _read_mjpeg_parts(web, "/api/cameras/mj/stream.mjpg", 10)
    assert ctype.startswith("multipart/x-mixed-replace")
    assert len(parts) >= 10
    assert all(p in cam.frames for p in parts), "MJPEG parts must be the JPEGs the sender sent"
    assert len(set(parts)) > 1, "the stream must move on to newer frames"
    assert encodes == 0, "serving JPEG senders must not encode on the hub"


def test_raw_frames_are_encoded_once_for_all_viewers(hub: camhub.Hub, api: TestClient) -> None:
    import numpy as np

    with camhub.Sender(hub.endpoint) as sender:
        sender.send_image("raw", np.full((48, 64, 3), 90, np.uint8))
        assert sender.flush(5)
    wait_until(lambda: hub.latest("raw") is not None)
    first = api.get("/api/cameras/raw/snapshot.jpg").content
    second = api.get("/api/cameras/raw/snapshot.jpg").content
    assert first[:2] == b"\xff\xd8" and first is not None and first == second
    assert camhub.decode_jpeg(first).shape == (48, 64, 3)


def test_names_with_html_and_path_characters(hub: camhub.Hub, web: WebServer) -> None:
    # Over a real socket: how the server decodes %2F and friends is part of the point.
    name = '<img src=x onerror="alert(1)">/../../etc/passwd "q"&'
    frames = jpegs(2)
    _send_exactly(hub, name, frames)
    path = "/api/cameras/" + quote(name, safe="")
    with _client(web) as client:
        data = client.get(path).json()
        assert data["name"] == name
        assert data["links"]["snapshot"] == path + "/snapshot.jpg"
        snap = client.get(path + "/snapshot.jpg")
        assert snap.content == frames[-1]
        disposition = snap.headers["content-disposition"]
        filename = disposition.split('filename="')[1].rstrip('"')
        assert re.fullmatch(r"[A-Za-z0-9._-]+\.jpg", filename) and ".." not in filename
        text = client.get("/metrics").text
        assert 'camera="<img src=x onerror=\\"alert(1)\\">/../../etc/passwd \\"q\\"&"' in text
        index = client.get("/").text
    assert name not in index  # pages are static; names arrive as JSON data only


def test_safe_filename() -> None:
    assert safe_filename("../../etc/passwd", ".jpg") == "etc_passwd.jpg"
    assert safe_filename("...", ".jpg") == "camera.jpg"
    assert safe_filename("cam 1/ä", ".jpg") == "cam_1.jpg"
    assert len(safe_filename("x" * 500)) == 100


def _noisy_jpegs(count: int) -> list[bytes]:
    import numpy as np

    rng = np.random.default_rng(1)
    return [
        camhub.encode_jpeg(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8))
        for _ in range(count)
    ]


def test_slow_viewer_skips_and_does_not_hold_back_others(
    hub: camhub.Hub, web: WebServer, cameras: Callable[..., StreamingCamera]
) -> None:
    cameras("busy", fps=40, size=(320, 240), frames=_noisy_jpegs(6))
    wait_until(lambda: hub.latest("busy") is not None)
    # A viewer that connects and never reads: once the socket buffers are full its
    # stream waits, and when it is drained it gets the newest frame, not a backlog.
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", web.port))
    stalled.sendall(b"GET /api/cameras/busy/stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    try:
        time.sleep(1.0)
        before = hub.camera_stats("busy").frames  # type: ignore[union-attr]
        _, parts = _read_mjpeg_parts(web, "/api/cameras/busy/stream.mjpg", 15)
        assert len(parts) >= 15
        after = hub.camera_stats("busy").frames  # type: ignore[union-attr]
        assert after > before
        stalled.settimeout(0.2)
        deadline = time.monotonic() + 6
        while web.dashboard.broadcaster.skipped_total == 0 and time.monotonic() < deadline:
            try:
                stalled.recv(1 << 20)
            except TimeoutError:
                pass
        with _client(web) as client:
            text = client.get("/metrics").text
        assert _metric(text, "camhub_web_viewers") >= 1
        assert _metric(text, "camhub_web_pictures_skipped_total") > 0
    finally:
        stalled.close()


def test_processor_view_and_data(hub: camhub.Hub, cameras: Callable[..., StreamingCamera]) -> None:
    runner = hub.add_processor("motion", cameras=["m"])
    cameras("m", fps=20)
    cameras("other", fps=20)
    wait_until(lambda: runner.latest("m") is not None and runner.latest("m").count > 8)  # type: ignore[union-attr]
    with WebServer(hub, "127.0.0.1:0", processors=[runner]) as web, _client(web) as client:
        # The bar's loop restarts now and then (one still step): look until a reply
        # carries motion, then check that reply as a whole.
        data: dict[str, Any] = {}

        def moving() -> bool:
            data.update(client.get("/api/cameras/m").json())
            return bool(data["processors"]["motion"]["data"]["motion"])

        wait_until(moving, what="the API to report motion on camera m")
        assert data["views"] == ["live", "motion"]
        proc = data["processors"]["motion"]
        assert proc["stats"]["processed"] > 0 and proc["data"]["motion"] is True
        assert proc["detections"] and proc["detections"][0]["label"] == "motion"
        assert client.get("/api/cameras/other").json()["views"] == ["live"]
        snap = client.get("/api/cameras/m/snapshot.jpg?view=motion")
        assert snap.status_code == 200 and camhub.decode_jpeg(snap.content).shape == (72, 96, 3)
        _, parts = _read_mjpeg_parts(web, "/api/cameras/m/stream.mjpg?view=motion", 3)
        assert len(parts) == 3 and all(p[:2] == b"\xff\xd8" for p in parts)
        assert client.get("/api/cameras/m/stream.mjpg?view=nope").status_code == 404
        text = client.get("/metrics").text
    assert 'camhub_processor_frames_total{processor="motion",camera="m"}' in text
