"""Pairing codes and device tokens in the phones folder."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from camhub.phones import DeviceError, DeviceRegistry


def test_pairing_issues_a_token_that_is_stored_only_as_a_hash(tmp_path: Path) -> None:
    reg = DeviceRegistry(tmp_path)
    token = reg.pair(reg.pairing_code, "kitchen")
    assert reg.check(token).name == "kitchen"
    text = (tmp_path / "devices.json").read_text()
    assert token not in text and "kitchen" in text
    assert stat.S_IMODE((tmp_path / "devices.json").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "pairing.code").stat().st_mode) == 0o600
    # The pairing code survives a restart (printed QR codes keep working).
    assert DeviceRegistry(tmp_path).pairing_code == reg.pairing_code


@pytest.mark.parametrize(
    ("code", "name", "words"),
    [
        ("wrong", "kitchen", "pairing code is not"),
        (None, "", "not allowed"),
        (None, "../etc/passwd", "not allowed"),
        (None, "cam\nforged log line", "not allowed"),
        (None, "x" * 64, "not allowed"),
    ],
)
def test_bad_pairing_is_refused_with_a_reason(
    tmp_path: Path, code: str | None, name: str, words: str
) -> None:
    reg = DeviceRegistry(tmp_path)
    with pytest.raises(DeviceError, match=words):
        reg.pair(reg.pairing_code if code is None else code, name)
    assert reg.devices() == []


def test_unknown_missing_and_revoked_tokens_say_which(tmp_path: Path) -> None:
    reg = DeviceRegistry(tmp_path)
    token = reg.pair(reg.pairing_code, "porch")
    with pytest.raises(DeviceError, match="no device token"):
        reg.check("")
    with pytest.raises(DeviceError, match="unknown device token"):
        reg.check(token + "x")
    reg.revoke("porch")
    with pytest.raises(DeviceError, match="revoked"):
        reg.check(token)
    with pytest.raises(DeviceError, match="was revoked"):
        reg.pair(reg.pairing_code, "porch")
    reg.forget("porch")
    assert reg.check(reg.pair(reg.pairing_code, "porch")).name == "porch"


def test_revocation_by_another_process_is_picked_up_live(tmp_path: Path) -> None:
    hub_side = DeviceRegistry(tmp_path)
    token = hub_side.pair(hub_side.pairing_code, "garage")
    assert hub_side.check(token).name == "garage"
    DeviceRegistry(tmp_path).revoke("garage")  # what `camhub phones revoke` does
    hub_side.refresh(force=True)
    with pytest.raises(DeviceError, match="revoked"):
        hub_side.check(token)


def test_a_new_pairing_code_stops_old_links_but_not_paired_phones(tmp_path: Path) -> None:
    reg = DeviceRegistry(tmp_path)
    old = reg.pairing_code
    token = reg.pair(old, "a")
    DeviceRegistry(tmp_path).rotate_pairing_code()  # another process
    with pytest.raises(DeviceError, match="pairing code"):
        reg.pair(old, "b")
    assert reg.check(token).name == "a"


def test_damaged_devices_file_admits_nobody(tmp_path: Path) -> None:
    reg = DeviceRegistry(tmp_path)
    token = reg.pair(reg.pairing_code, "cellar")
    (tmp_path / "devices.json").write_text("{not json")
    reg.refresh(force=True)
    with pytest.raises(DeviceError):
        reg.check(token)
    (tmp_path / "devices.json").write_text(json.dumps({"devices": [{"name": 1}]}))
    reg.refresh(force=True)
    assert reg.devices() == []
