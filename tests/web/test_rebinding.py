"""DNS rebinding against a tokenless dashboard: a page on another name that points
its name at 127.0.0.1 sends that name as Host; only loopback names are answered."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from starlette.testclient import TestClient

import camhub
from camhub.web import WebServer
from camhub.web.app import create_app
from camhub.web.auth import LoopbackHostOnly, is_loopback_name


@pytest.fixture
def client(hub: camhub.Hub) -> Iterator[TestClient]:
    """What a tokenless dashboard serves (the app behind its Host check), in this process."""
    with TestClient(LoopbackHostOnly(create_app(hub))) as c:
        yield c


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "192.168.1.20", "[::2]"])
def test_other_names_are_refused(client: TestClient, host: str) -> None:
    for path in ("/api/cameras", "/", "/metrics"):
        r = client.get(path, headers={"Host": host})
        assert r.status_code == 421, (path, host)
        error = r.json()["error"]
        assert "answers only to localhost, 127.0.0.1 or [::1]" in error
        assert "DNS rebinding" in error


@pytest.mark.parametrize(
    "host", ["localhost", "LOCALHOST:8000", "127.0.0.1", "127.0.0.1:1234", "127.1.2.3", "[::1]:80"]
)
def test_loopback_names_are_answered(client: TestClient, host: str) -> None:
    assert client.get("/api/cameras", headers={"Host": host}).status_code == 200


def test_a_real_tokenless_dashboard_checks_the_host(web: WebServer) -> None:
    with httpx.Client(base_url=web.url, timeout=10) as c:
        assert c.get("/api/cameras", headers={"Host": "evil.example"}).status_code == 421
        assert c.get("/api/cameras", headers={"Host": "localhost"}).status_code == 200


def test_with_a_token_any_name_is_answered(hub: camhub.Hub) -> None:
    with (
        WebServer(hub, "127.0.0.1:0", token="s3cret-token") as web,
        httpx.Client(base_url=web.url, timeout=10) as c,
    ):
        headers = {"Host": "camhub.home.example", "Authorization": "Bearer s3cret-token"}
        assert c.get("/api/cameras", headers=headers).status_code == 200
        assert c.get("/api/cameras", headers={"Host": "x.example"}).status_code == 401


def test_loopback_names() -> None:
    assert is_loopback_name("localhost.")
    assert is_loopback_name("[::1]")
    assert not is_loopback_name("localhost.evil.example")
    assert not is_loopback_name("127.0.0.1.evil.example")
    assert not is_loopback_name("")
