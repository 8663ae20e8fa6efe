"""The hub's data directory (event database, recordings) and the SQLite files in it.

Every failure here happens at start-up and names the path, so a user with a read-only
disk or a damaged database file knows what to fix before any camera is lost.

Everything in it is private, whatever the umask: pictures of people's homes live here
(event snapshots in the database, recording segments, clips). Directories are 0700 and
files 0600; an existing data directory that others can read is tightened at start-up.
Databases are never opened through a symbolic link, so a planted (or dangling) link
cannot make SQLite write a database outside the data directory.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO

from camhub.types import CamhubError

log = logging.getLogger("camhub.datadir")

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
_DB_COMPANIONS = ("", "-wal", "-shm", "-journal")


class DataDirError(CamhubError):
    """The data directory or a database in it cannot be used."""


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/camhub``, or ``~/.local/share/camhub``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "camhub"


def private_dir(path: Path) -> Path:
    """Create ``path`` and its missing parents with mode 0700 (``mkdir -p`` gives parents
    the umask's mode); an existing directory is left as it is."""
    missing = []
    at = path
    while not at.exists() and at != at.parent:
        missing.append(at)
        at = at.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            pass  # made by another thread meanwhile
        else:
            os.chmod(folder, PRIVATE_DIR)  # the umask only narrows; this is exact
    return path


def open_private(path: Path) -> BinaryIO:
    """A new file at ``path``, mode 0600, for writing; never through a symbolic link."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    return os.fdopen(os.open(path, flags, PRIVATE_FILE), "wb")


def tighten_dir(path: Path, what: str) -> None:
    """Make a directory of ours that others can reach private (0700)."""
    info = path.stat()
    if info.st_mode & 0o077 and info.st_uid == os.geteuid():
        try:
            os.chmod(path, PRIVATE_DIR)
        except OSError as exc:
            log.warning("%s %s is open to other users and cannot be made private: %s",
                        what, path, exc.strerror or exc)  # fmt: skip
            return
        log.info("%s %s was open to other users (mode %o): made it private (700)",
                 what, path, stat.S_IMODE(info.st_mode))  # fmt: skip


def ensure_dir(path: Path, what: str = "data directory") -> Path:
    """Create ``path`` (mode 0700) if needed, make it private, and prove it is writable
    (by writing a file)."""
    try:
        private_dir(path)
    except OSError as exc:
        raise DataDirError(f"cannot create {what} {str(path)!r}: {exc.strerror or exc}") from None
    if not path.is_dir():
        raise DataDirError(f"{what} {str(path)!r} is not a directory")
    tighten_dir(path, what)
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".camhub-write-test-"):
            pass
    except OSError as exc:
        raise DataDirError(f"{what} {str(path)!r} is not writable: {exc.strerror or exc}") from None
    return path


def open_db(path: Path, schema: str) -> sqlite3.Connection:
    """Open (or create) a SQLite file in WAL mode and apply ``schema``.

    WAL lets the dashboard read while a writer thread commits, and a crash loses at most
    the transaction in flight.
    """
    _prepare_db_file(path)
    try:
        conn = sqlite3.connect(path, timeout=5.0, check_same_thread=False, isolation_level=None)
    except sqlite3.Error as exc:
        raise DataDirError(f"cannot open database {str(path)!r}: {exc}") from None
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(schema)
        conn.execute("PRAGMA quick_check(1)").fetchone()
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise DataDirError(
            f"database {str(path)!r} is damaged or not a camhub database ({exc}); "
            "move it aside and the hub starts a new one"
        ) from None
    return conn


def _prepare_db_file(path: Path) -> None:
    """Refuse symbolic links; create the database file 0600 before SQLite opens it (SQLite
    gives its -wal and -shm files the database file's mode); tighten existing files."""
    for suffix in _DB_COMPANIONS:
        file = path.with_name(path.name + suffix)
        if file.is_symlink():
            raise DataDirError(
                f"database file {str(file)!r} is a symbolic link (to {os.readlink(file)!r}); "
                "camhub keeps its databases in the data directory itself: remove the link, "
                "or give --data the directory the link points into"
            )
    try:
        open_private(path).close()
    except FileExistsError:
        pass
    except OSError as exc:
        raise DataDirError(f"cannot create database {str(path)!r}: {exc.strerror or exc}") from None
    for suffix in _DB_COMPANIONS:
        file = path.with_name(path.name + suffix)
        try:
            if file.stat().st_mode & 0o077:
                os.chmod(file, PRIVATE_FILE)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise DataDirError(
                f"cannot make {str(file)!r} private: {exc.strerror or exc}"
            ) from None
