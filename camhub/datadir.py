"""The hub's data directory (event database, recordings) and the SQLite files in it.

Every failure here happens at start-up and names the path, so a user with a read-only
disk or a damaged database file knows what to fix before any camera is lost.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path

from camhub.types import CamhubError


class DataDirError(CamhubError):
    """The data directory or a database in it cannot be used."""


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/camhub``, or ``~/.local/share/camhub``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "camhub"


def ensure_dir(path: Path, what: str = "data directory") -> Path:
    """Create ``path`` if needed and prove it is writable (by writing a file)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataDirError(f"cannot create {what} {str(path)!r}: {exc.strerror or exc}") from None
    if not path.is_dir():
        raise DataDirError(f"{what} {str(path)!r} is not a directory")
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
