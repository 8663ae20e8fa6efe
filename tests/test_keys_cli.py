"""``camhub keys``: real files, real permissions, readable by pyzmq's own certificate loader."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import zmq
import zmq.auth

from camhub.cli import main
from camhub.security import read_key_file


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_writes_a_key_pair_with_safe_permissions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "keys"
    assert main(["keys", "new", "phone1", "--dir", str(folder)]) == 0
    out = capsys.readouterr().out
    public, secret = folder / "phone1.key", folder / "phone1.key_secret"
    assert str(public) in out and str(secret) in out
    assert "--authorized-keys" in out and f"--key {secret}" in out  # what goes where

    assert mode(secret) == 0o600
    assert mode(public) == 0o644
    assert mode(folder) == 0o700

    # ZeroMQ's own loader reads the files, and the pair is a real CURVE pair.
    pub, sec = zmq.auth.load_certificate(secret)
    assert sec is not None and zmq.curve_public(sec) == pub
    assert zmq.auth.load_certificate(public) == (pub, None)
    assert read_key_file(secret, need_secret=True).name == "phone1"
    assert sec.decode() not in out  # the secret is never printed


def test_new_refuses_to_overwrite_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["keys", "new", "hub", "--dir", str(tmp_path)]
    assert main(args) == 0
    first = (tmp_path / "hub.key").read_text()
    assert main(args) == 2
    assert "already exists; pass --force" in capsys.readouterr().err
    assert (tmp_path / "hub.key").read_text() == first
    assert main([*args, "--force"]) == 0
    assert (tmp_path / "hub.key").read_text() != first
    assert mode(tmp_path / "hub.key_secret") == 0o600


@pytest.mark.parametrize("name", ["../evil", "a/b", ".hidden", "", "x" * 65, "bad name"])
def test_new_rejects_names_that_are_not_plain_file_names(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "new", name, "--dir", str(tmp_path)]) == 2
    assert "bad key name" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_show_prints_the_public_key_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["keys", "new", "cam", "--dir", str(tmp_path)])
    capsys.readouterr()
    secret_file = tmp_path / "cam.key_secret"
    pub, sec = zmq.auth.load_certificate(secret_file)
    assert sec is not None

    assert main(["keys", "show", str(secret_file)]) == 0
    out = capsys.readouterr().out
    assert pub.decode() in out and sec.decode() not in out
    assert "WARNING" not in out

    os.chmod(secret_file, 0o644)
    assert main(["keys", "show", str(secret_file)]) == 0
    assert "chmod 600" in capsys.readouterr().out


def test_show_explains_a_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("just text\n")
    assert main(["keys", "show", str(bad)]) == 2
    assert "not a CURVE key file" in capsys.readouterr().err
    assert main(["keys", "show", str(tmp_path / "missing.key")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_keys_command_runs_as_a_program(tmp_path: Path) -> None:
    """The real entry point, in a fresh process, with --help and a key pair."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    run = [sys.executable, "-m", "camhub", "keys"]
    helped = subprocess.run(
        [*run, "new", "--help"], capture_output=True, text=True, env=env, timeout=60
    )
    assert helped.returncode == 0 and "NAME.key_secret" in helped.stdout
    made = subprocess.run(
        [*run, "new", "hub", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "hub.key_secret").exists()
