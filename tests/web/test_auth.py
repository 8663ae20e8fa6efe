"""Access control: loopback by default, and an exposed dashboard refuses requests
without the token (every route but /healthz); optional TLS."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

import camhub
from camhub.web import WebConfigError, WebServer
from camhub.web.app import create_app
from camhub.web.server import parse_address
from tests.conftest import wait_until
from tests.web.conftest import jpegs

pytestmark = pytest.mark.timeout(60)
TOKEN = "s3cret-token-for-tests"


@pytest.fixture
def door(hub: camhub.Hub) -> camhub.Hub:
    with camhub.Sender(hub.endpoint) as sender:
        sender.send_jpeg("door", jpegs(1)[0])
        assert sender.flush(5)
    wait_until(lambda: hub.latest("door") is not None)
    return hub


@pytest.fixture
def exposed(door: camhub.Hub) -> Iterator[WebServer]:
    server = WebServer(door, "0.0.0.0:0", expose=True, token=TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def guarded(door: camhub.Hub) -> Iterator[TestClient]:
    """The token-guarded app in this process: what it answers, with no socket."""
    with TestClient(create_app(door, token=TOKEN)) as client:
        yield client


PROTECTED = [
    "/",
    "/camera?name=door",
    "/static/grid.js",
    "/api/cameras",
    "/api/cameras/door",
    "/api/cameras/door/snapshot.jpg",
    "/api/cameras/door/stream.mjpg",
    "/api/stream",
    "/metrics",
]


@pytest.mark.parametrize("path", PROTECTED)
def test_a_guarded_dashboard_refuses_without_the_token(guarded: TestClient, path: str) -> None:
    r = guarded.get(path)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Basic")
    assert "token" in r.json()["error"]
    assert guarded.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert guarded.get(path, auth=("any", "wrong")).status_code == 401
    assert guarded.get(path, params={"token": TOKEN[:-1]}).status_code == 401


def test_a_guarded_dashboard_accepts_the_token_every_way(guarded: TestClient) -> None:
    snap = "/api/cameras/door/snapshot.jpg"
    r = guarded.get(snap, headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.content[:2] == b"\xff\xd8"
    assert guarded.get(snap, auth=("viewer", TOKEN)).status_code == 200
    guarded.cookies.clear()
    assert guarded.get("/api/cameras", params={"token": TOKEN}).status_code == 200
    guarded.cookies.clear()
    first = guarded.get("/", params={"token": TOKEN})
    assert first.status_code == 200
    cookie = first.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    # the page's own fetches carry no token, only the cookie
    assert guarded.get("/api/cameras").status_code == 200
    guarded.cookies.clear()
    assert guarded.get("/api/cameras").status_code == 401
    assert guarded.get("/healthz").json() == {"status": "ok"}


def test_an_exposed_dashboard_guards_its_socket(exposed: WebServer) -> None:
    # Over a real socket on 0.0.0.0: refused without the token, served with it.
    base = f"http://127.0.0.1:{exposed.port}"
    assert httpx.get(f"{base}/api/cameras", timeout=5).status_code == 401
    r = httpx.get(f"{base}/api/cameras", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert r.status_code == 200 and r.json()["cameras"][0]["name"] == "door"
    assert httpx.get(f"{base}/healthz", timeout=5).json() == {"status": "ok"}


def test_exposing_needs_the_flag_and_a_token(hub: camhub.Hub) -> None:
    with pytest.raises(WebConfigError, match="--web-expose"):
        WebServer(hub, "0.0.0.0:0")
    with pytest.raises(WebConfigError, match="needs a token"):
        WebServer(hub, "0.0.0.0:0", expose=True)
    with pytest.raises(WebConfigError, match="needs a token"):
        WebServer(hub, "0.0.0.0:0", expose=True, token="")


def test_default_is_loopback_without_token(hub: camhub.Hub) -> None:
    with WebServer(hub, "127.0.0.1:0") as server:
        assert server.host == "127.0.0.1"
        assert httpx.get(server.url + "api/cameras", timeout=5).status_code == 200


@pytest.mark.parametrize("text", ["", "8000x", "host", "1.2.3.4:99999", ":80", "[::1]"])
def test_bad_addresses(text: str) -> None:
    with pytest.raises(WebConfigError, match="bad dashboard address"):
        parse_address(text)


def test_port_in_use_is_a_clear_error(hub: camhub.Hub) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        port = taken.getsockname()[1]
        with pytest.raises(WebConfigError, match=f"cannot listen on 127.0.0.1:{port}"):
            WebServer(hub, f"127.0.0.1:{port}")
    finally:
        taken.close()


def test_tls_needs_both_files_that_exist(hub: camhub.Hub, tmp_path: Path) -> None:
    with pytest.raises(WebConfigError, match="both"):
        WebServer(hub, "127.0.0.1:0", tls_cert=tmp_path / "c.pem")
    with pytest.raises(WebConfigError, match="does not exist"):
        WebServer(hub, "127.0.0.1:0", tls_cert=tmp_path / "c.pem", tls_key=tmp_path / "k.pem")
    (tmp_path / "c.pem").write_text("not a certificate")
    (tmp_path / "k.pem").write_text("not a key")
    with pytest.raises(WebConfigError, match="cannot load TLS"):
        WebServer(hub, "127.0.0.1:0", tls_cert=tmp_path / "c.pem", tls_key=tmp_path / "k.pem")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_tls_with_token(door: camhub.Hub, tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    with WebServer(
        door, "0.0.0.0:0", expose=True, token=TOKEN, tls_cert=cert, tls_key=key
    ) as server:
        assert server.url.startswith("https://")
        url = f"https://127.0.0.1:{server.port}/api/cameras"
        with httpx.Client(verify=ssl.create_default_context(cafile=str(cert)), timeout=5) as client:
            assert client.get(url).status_code == 401
            r = client.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
            assert r.status_code == 200 and r.json()["cameras"][0]["name"] == "door"
            first = client.get(f"https://127.0.0.1:{server.port}/", params={"token": TOKEN})
            assert "Secure" in first.headers["set-cookie"]
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{server.port}/api/cameras", timeout=3)
