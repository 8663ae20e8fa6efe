"""The README's deployment, as real processes: keys, a secure hub, senders with and without
a valid key, and a fleet config file."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.cli_proc import Proc, run_cli
from tests.conftest import free_port

pytestmark = pytest.mark.timeout(90)


def _keys(tmp_path: Path, *names: str) -> None:
    # `camhub keys new`, in this process: a Python start-up per key bought nothing
    # (test_keys_cli runs the command as a program once).
    from camhub.cli import main

    for name in names:
        assert main(["keys", "new", name, "--dir", str(tmp_path)]) == 0


def test_secure_hub_with_camhub_send(tmp_path: Path) -> None:
    _keys(tmp_path, "hub", "phone1", "intruder")
    authorized = tmp_path / "authorized"
    authorized.mkdir()
    (authorized / "phone1.key").write_bytes((tmp_path / "phone1.key").read_bytes())
    hub = Proc(
        "hub",
        "--bind", "tcp://127.0.0.1:0",
        "--web", "127.0.0.1:0",
        "--status-every", "0.5",
        "--secret-key", str(tmp_path / "hub.key_secret"),
        "--authorized-keys", str(authorized),
    )  # fmt: skip
    good = bad = None
    try:
        url = hub.expect(r"dashboard at (http://\S+)").group(1)
        endpoint = hub.expect(r"receiving on (tcp://\S+)").group(1)
        common = ["--hub", endpoint, "--hub-key", str(tmp_path / "hub.key")]
        good = Proc("send", "testsrc:160x120@10", "--name", "phone1", *common,
                    "--key", str(tmp_path / "phone1.key_secret"))  # fmt: skip
        bad = Proc("send", "testsrc:160x120@10", "--name", "intruder", *common,
                   "--key", str(tmp_path / "intruder.key_secret"))  # fmt: skip
        hub.expect(r"camera phone1: online, .*160x120", timeout=30)
        bad.expect(r"refused", timeout=30)
        names = [c["name"] for c in httpx.get(url + "api/cameras", timeout=5).json()["cameras"]]
        assert names == ["phone1"]
    finally:
        for p in (good, bad, hub):
            if p is not None:
                p.kill()


def test_plaintext_sender_is_refused_by_secure_hub(tmp_path: Path) -> None:
    _keys(tmp_path, "hub", "cam")
    hub = Proc("hub", "--bind", "tcp://127.0.0.1:0", "--no-web",
               "--secret-key", str(tmp_path / "hub.key_secret"),
               "--authorized-keys", str(tmp_path / "cam.key"))  # fmt: skip
    plain = None
    try:
        endpoint = hub.expect(r"receiving on (tcp://\S+)").group(1)
        plain = Proc("send", "testsrc:160x120@10", "--name", "plain", "--hub", endpoint)
        plain.expect(r"WITHOUT encryption")
        plain.expect(r"requires CURVE|refused", timeout=30)
    finally:
        for p in (plain, hub):
            if p is not None:
                p.kill()


def test_fleet_config_drives_hub_and_sender(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "fleet.toml"
    config.write_text(
        f"""
[hub]
address = "tcp://127.0.0.1:{port}"
bind = "tcp://127.0.0.1:{port}"
web = "127.0.0.1:0"
offline_after = 2

[[cameras]]
name = "porch"
source = "testsrc:160x120@10"

[[cameras]]
name = "shed"
source = "testsrc:320x240@5"
"""
    )
    hub = Proc("hub", "--config", str(config), "--status-every", "0.5")
    sender = None
    try:
        url = hub.expect(r"dashboard at (http://\S+)").group(1)
        sender = Proc("send", "--config", str(config))
        hub.expect(r"camera porch: online, .*160x120", timeout=30)
        hub.expect(r"camera shed: online, .*320x240", timeout=30)
        cams = httpx.get(url + "api/cameras", timeout=5).json()["cameras"]
        assert sorted(c["name"] for c in cams) == ["porch", "shed"]
        sender.kill()
        hub.expect(r"camera porch offline since", timeout=15)
    finally:
        for p in (sender, hub):
            if p is not None:
                p.kill()


def test_bad_config_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[hub]\nofline_after = 3\n")
    code, out = run_cli(capsys, "hub", "--config", str(config))  # refused before it starts
    assert code == 2
    assert "ofline_after" in out
