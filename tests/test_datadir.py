"""Private files whatever the umask: a real ``camhub hub`` process under umask 022 and 000
records a real sender and exports a clip over HTTP, then every directory it made is 0700
and every file 0600. Symbolic links in place of a database are refused; the phones'
dashboard token file is private and an old readable one is tightened. (CI runs as root,
who can read anything: so modes are checked, not access.)"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import camhub
from camhub.datadir import DataDirError, ensure_dir
from camhub.events import EventStore
from camhub.phones.devices import DeviceFileError
from camhub.phones.setup import TOKEN_FILE, prepare
from tests.conftest import wait_until
from tests.web.conftest import jpegs

pytestmark = pytest.mark.timeout(120)


def _modes(root: Path) -> dict[str, str]:
    """Every path under ``root`` (itself included) with its permission bits."""
    paths = [root, *root.rglob("*")]
    return {str(p.relative_to(root.parent)): oct(stat.S_IMODE(p.lstat().st_mode)) for p in paths}


class HubProcess:
    """``camhub hub`` recording everything, under ``umask``; its log read line by line."""

    def __init__(self, umask: int, data: Path) -> None:
        command = " ".join(
            [
                f"umask {umask:03o} && exec {sys.executable} -m camhub hub",
                "--bind tcp://127.0.0.1:0 --web 127.0.0.1:0 --status-every 0",
                f"--data {data} --record continuous",
            ]
        )
        self.p = subprocess.Popen(
            ["sh", "-c", command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.endpoint = self._expect(r"hub listening on (tcp://\S+)")
        self.web = self._expect(r"dashboard at (http://\S+)")

    def _expect(self, pattern: str) -> str:
        assert self.p.stdout is not None
        for line in self.p.stdout:
            if m := re.search(pattern, line):
                return m.group(1)
        raise AssertionError(f"camhub hub ended before printing {pattern!r}")

    def stop(self) -> None:
        self.p.terminate()
        self.p.wait(20)
        assert self.p.stdout is not None
        self.p.stdout.close()


@pytest.mark.parametrize("umask", [0o022, 0o000], ids=["umask022", "umask000"])
def test_everything_the_hub_writes_is_private(tmp_path: Path, umask: int) -> None:
    data = tmp_path / "new" / "data"  # neither exists yet
    hub = HubProcess(umask, data)
    try:
        sender = camhub.Sender(hub.endpoint, timeout=5.0)
        started = time.time()
        frames = jpegs(10, (96, 72))
        for i in range(40):
            assert sender.send_jpeg("porch", frames[i % 10], width=96, height=72)
            time.sleep(0.05)
        sender.close()
        with httpx.Client(base_url=hub.web, timeout=60) as client:
            wait_until(lambda: client.get("/api/recordings").json()["segments"], 20, "a segment")
            clip = client.get(
                "/api/recordings/clip.mp4",
                params={"camera": "porch", "start": started - 1, "end": time.time() + 1},
            )
            assert clip.status_code == 200 and clip.content[4:8] == b"ftyp"
        modes = _modes(data)
        # Looked at while the hub runs: WAL files exist, the clip is cached.
        assert any(p.endswith("events.db-wal") for p in modes)
        assert any(p.endswith(".cseg") for p in modes)
        assert any(p.endswith(".mp4") for p in modes)
    finally:
        hub.stop()
    modes = _modes(tmp_path / "new")
    wrong = {
        path: mode
        for path, mode in modes.items()
        if mode != ("0o700" if (tmp_path / path).is_dir() else "0o600")
    }
    assert not wrong, f"under umask {umask:03o}: {wrong}"


def test_an_existing_readable_data_directory_is_tightened(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    (data / "events.db").touch()
    os.chmod(data / "events.db", 0o644)
    store = EventStore.open(data)
    store.close()
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "events.db").stat().st_mode) == 0o600


@pytest.mark.parametrize("companion", ["", "-wal"])
def test_a_symlink_in_place_of_a_database_is_refused(tmp_path: Path, companion: str) -> None:
    data = ensure_dir(tmp_path / "data")
    outside = tmp_path / "elsewhere" / "events.db"
    outside.parent.mkdir()
    (data / f"events.db{companion}").symlink_to(outside)  # dangling
    with pytest.raises(DataDirError, match="is a symbolic link") as info:
        EventStore.open(data)
    assert "remove the link" in str(info.value)
    assert list(outside.parent.iterdir()) == []  # nothing was created through it


def test_the_dashboard_token_file_is_private(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        folder = tmp_path / "phones"
        setup = prepare(folder, tls_cert=None, tls_key=None, web_token=None, host="127.0.0.1")
    finally:
        os.umask(old)
    token_file = folder / TOKEN_FILE
    assert token_file.read_text().strip() == setup.web_token
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700

    # An older camhub left it readable by all: tightened, token kept.
    os.chmod(token_file, 0o644)
    os.chmod(folder, 0o755)
    again = prepare(folder, tls_cert=None, tls_key=None, web_token=None, host="127.0.0.1")
    assert again.web_token == setup.web_token
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_a_symlinked_token_file_is_not_written_through(tmp_path: Path) -> None:
    folder = tmp_path / "phones"
    folder.mkdir()
    target = tmp_path / "public.txt"
    (folder / TOKEN_FILE).symlink_to(target)  # dangling: the old code wrote the token there
    with pytest.raises(DeviceFileError, match="symbolic link"):
        prepare(folder, tls_cert=None, tls_key=None, web_token=None, host="127.0.0.1")
    assert not target.exists()
