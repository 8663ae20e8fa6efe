"""`camhub hub --phones` and `camhub phones` as real processes."""

from __future__ import annotations

import json
import signal
import ssl
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from camhub.phones.wire import encode_frame
from tests.cli_proc import Proc, cli
from tests.web.conftest import jpegs

pytestmark = pytest.mark.timeout(90)


def test_hub_with_phones_prints_link_and_qr_and_takes_a_phone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "phones"
    proc = Proc(
        "hub",
        "--bind",
        "tcp://127.0.0.1:0",
        "--web",
        "127.0.0.1:0",
        "--phones",
        "--phones-dir",
        str(folder),
        "--phones-host",
        "127.0.0.1",
        "--status-every",
        "0",
    )
    try:
        join = proc.expect(r"phones join at (https://127\.0\.0\.1:\d+/cam\?pair=\S+)").group(1)
        dash = proc.expect(r"dashboard at (https://\S+\?token=\S+)").group(1)
        assert any("\u2588" in line for line in proc.lines), "no QR code in the terminal"
        ctx = ssl.create_default_context(cafile=str(folder / "hub-cert.pem"))
        base, code = join.split("/cam?pair=")
        with httpx.Client(verify=ctx, timeout=10) as c:
            assert c.get(base + "/api/cameras").status_code == 401
            assert c.get(dash).status_code == 200
            token = c.post(base + "/cam/pair", json={"code": code, "name": "cli-phone"}).json()[
                "token"
            ]
        with connect(base.replace("https", "wss") + "/cam/ws", ssl=ctx) as ws:
            ws.send(json.dumps({"type": "hello", "token": token}))
            assert json.loads(ws.recv(timeout=10))["type"] == "welcome"
            ws.send(encode_frame(jpegs(1)[0], 0, 0.0))
            assert json.loads(ws.recv(timeout=10))["type"] == "ack"
        proc.expect(r"camera cli-phone connected from 127\.0\.0\.1:\d+ \(browser\)")
        listed = cli(capsys, "phones", "--dir", str(folder), "list")
        assert listed.returncode == 0 and "cli-phone" in listed.stdout
        assert "allowed" in listed.stdout
        revoked = cli(capsys, "phones", "--dir", str(folder), "revoke", "cli-phone")
        assert revoked.returncode == 0
        assert "revoked" in cli(capsys, "phones", "--dir", str(folder), "list").stdout
        proc.p.send_signal(signal.SIGINT)
        assert proc.wait() == 0
    finally:
        proc.kill()


def test_phones_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = cli(capsys, "phones", "--dir", str(tmp_path), "revoke", "nobody")
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "no device named 'nobody'" in out.stderr
    assert "Traceback" not in out.stderr
    first = cli(capsys, "phones", "--dir", str(tmp_path), "pairing").stdout.strip()
    second = cli(capsys, "phones", "--dir", str(tmp_path), "pairing", "--new").stdout.strip()
    assert first and second and first != second


@pytest.mark.parametrize("action", ["list", "revoke", "forget", "pairing"])
def test_phones_help(action: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = cli(capsys, "phones", action, "--help")
    assert out.returncode == 0 and f"usage: camhub phones {action}" in out.stdout
