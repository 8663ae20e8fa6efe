"""Pairing over HTTPS, and which paths the dashboard token guards once phones are on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from camhub.phones import DeviceRegistry
from tests.phones.conftest import PhoneHub, start_phone_hub, stop_phone_hub

TOKEN = "dash-secret-token"


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[PhoneHub]:
    ph = start_phone_hub(tmp_path, token=TOKEN)
    yield ph
    stop_phone_hub(ph)


def http(ph: PhoneHub) -> httpx.Client:
    return httpx.Client(base_url=ph.base, verify=ph.ssl(), timeout=10)


def test_pairing_gives_a_token_and_bad_requests_say_why(guarded: PhoneHub) -> None:
    with http(guarded) as c:
        ok = c.post("/cam/pair", json={"code": guarded.registry.pairing_code, "name": "den"})
        assert ok.status_code == 200 and ok.json()["name"] == "den"
        assert guarded.registry.check(ok.json()["token"]).name == "den"
        bad = c.post("/cam/pair", json={"code": "guess", "name": "x"})
        assert bad.status_code == 403 and "pairing code" in bad.json()["error"]
        junk = c.post("/cam/pair", content=b"\x00" * 100)
        assert junk.status_code == 400 and "JSON" in junk.json()["error"]
        huge = c.post("/cam/pair", content=b"{" * 100_000)
        assert huge.status_code == 400
    assert guarded.phones.gate.stats_for("127.0.0.1").refused == 3


def test_phone_paths_are_open_and_the_dashboard_still_needs_its_token(guarded: PhoneHub) -> None:
    with http(guarded) as c:
        page = c.get("/cam")
        assert page.status_code == 200 and "camhub camera" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert c.get("/cam/cam.js").status_code == 200
        for path in ("/", "/phones", "/api/phones", "/api/phones/qr.svg", "/api/cameras"):
            assert c.get(path).status_code == 401, path
        info = c.get("/api/phones", headers={"Authorization": f"Bearer {TOKEN}"})
        assert info.status_code == 200
        assert info.json()["join_url"] == (
            f"{guarded.base}/cam?pair={guarded.registry.pairing_code}"
        )
        # A new pairing code made by another process (the CLI) shows at once.
        new_code = DeviceRegistry(guarded.folder).rotate_pairing_code()
        info = c.get("/api/phones", headers={"Authorization": f"Bearer {TOKEN}"})
        assert info.json()["join_url"].endswith(f"/cam?pair={new_code}")
        qr = c.get("/api/phones/qr.svg", params={"token": TOKEN})
        assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg")


def test_dashboard_revokes_a_phone(guarded: PhoneHub) -> None:
    token = guarded.device("loaner")
    with http(guarded) as c:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert c.post("/api/phones/loaner/revoke", headers=auth).status_code == 200
        assert c.post("/api/phones/nobody/revoke", headers=auth).status_code == 404
        listed = c.get("/api/phones", headers=auth).json()["devices"]
    assert listed[0]["name"] == "loaner" and listed[0]["revoked_at"] is not None
    _ws, first = guarded.open(token)
    assert first["type"] == "refused" and "revoked" in first["reason"]
