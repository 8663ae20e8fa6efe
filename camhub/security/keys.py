"""CURVE key files in ZeroMQ's certificate format, the one czmq and pyzmq's ``zmq.auth``
read and write::

    metadata
        name = "phone1"
    curve
        public-key = "<40 characters of Z85>"
        secret-key = "<40 characters of Z85>"      (only in NAME.key_secret)

``NAME.key`` holds the public key and may be shared; ``NAME.key_secret`` holds both keys
and must stay private, so it is created with mode 0600 from the first byte on.
"""

from __future__ import annotations

import os
import re
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

import zmq
import zmq.utils.z85

from camhub.types import CamhubError

PUBLIC_SUFFIX = ".key"
SECRET_SUFFIX = ".key_secret"
_MAX_FILE = 64 * 1024
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_FIELD = re.compile(rb"^\s*(public-key|secret-key)\s*=\s*(.*?)\s*$")

KeyPath = str | os.PathLike[str]


class KeyFileError(CamhubError, ValueError):
    """A key file is missing, unreadable or does not hold a valid CURVE key."""


@dataclass(frozen=True, slots=True)
class KeyFile:
    """The keys read from one file. Keys are Z85 text (40 bytes)."""

    path: Path
    public: bytes
    secret: bytes | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        """The key's name: the file name without ``.key`` / ``.key_secret``."""
        base = self.path.name
        for suffix in (SECRET_SUFFIX, PUBLIC_SUFFIX):
            if base.endswith(suffix):
                return base[: -len(suffix)]
        return base


def check_name(name: str) -> str:
    """Return ``name`` if it is usable as a key file name, else raise KeyFileError."""
    if not _NAME.match(name):
        raise KeyFileError(
            f"bad key name {name!r}: use 1-64 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit (e.g. phone1, hub)"
        )
    return name


def is_z85_key(text: str | bytes) -> bool:
    """Whether ``text`` is a 40-character Z85 CURVE key."""
    raw = text.encode() if isinstance(text, str) else text
    if len(raw) != 40:
        return False
    try:
        return len(zmq.utils.z85.decode(raw)) == 32
    except Exception:  # z85 raises ValueError, KeyError or struct.error on bad text
        return False


def read_key_file(path: KeyPath, *, need_secret: bool = False) -> KeyFile:
    """Read and validate a key file; errors name the file and say what to do."""
    p = Path(path)
    try:
        if p.is_dir():
            raise KeyFileError(f"{p} is a folder, not a key file")
        if p.stat().st_size > _MAX_FILE:
            raise KeyFileError(f"{p} is too large to be a CURVE key file")
        data = p.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(
            f"key file {p} does not exist (create keys with: camhub keys new NAME)"
        ) from None
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {p}: {exc.strerror or exc}") from None
    fields: dict[bytes, bytes] = {}
    for line in data.splitlines():
        match = _FIELD.match(line)
        if match:
            fields.setdefault(match.group(1), match.group(2).strip(b"\"'"))
    public, secret = fields.get(b"public-key"), fields.get(b"secret-key")
    if public is None:
        raise KeyFileError(f"{p} is not a CURVE key file (no public-key line)")
    if not is_z85_key(public):
        raise KeyFileError(f"{p}: public-key is not a 40-character Z85 CURVE key")
    if secret is not None:
        if not is_z85_key(secret):
            raise KeyFileError(f"{p}: secret-key is not a 40-character Z85 CURVE key")
        if zmq.curve_public(secret) != public:
            raise KeyFileError(f"{p}: secret-key does not belong to the public-key in the file")
    if need_secret and secret is None:
        stem = KeyFile(p, public).name
        raise KeyFileError(
            f"{p} holds only a public key; pass the secret key file ({stem}{SECRET_SUFFIX}) here"
        )
    return KeyFile(p, public, secret)


def loose_permissions(path: KeyPath) -> str | None:
    """A warning if a secret key file can be read by other users, else None."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None
    if os.name == "posix" and mode & 0o077:
        return (
            f"secret key file {path} is readable by other users (mode {mode:04o}); "
            f"run: chmod 600 {path}"
        )
    return None


def _render(name: str, public: bytes, secret: bytes | None) -> bytes:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    if secret is None:
        note = "#   Public key: safe to share. A hub allows this sender when the file is\n#   in its authorized keys folder; senders use a hub's .key as --hub-key.\n"
    else:
        note = "#   SECRET key: keep this file private, on this machine only (mode 0600).\n"
    lines = [
        f"#   camhub CURVE key {name!r}, created {stamp} (ZeroMQ certificate format)\n",
        note,
        "\n",
        "metadata\n",
        f'    name = "{name}"\n',
        "curve\n",
        f'    public-key = "{public.decode()}"\n',
    ]
    if secret is not None:
        lines.append(f'    secret-key = "{secret.decode()}"\n')
    return "".join(lines).encode()


def _write_new(path: Path, data: bytes, mode: int, force: bool) -> None:
    # Never follow a symlink planted where a secret key is about to be written.
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    flags |= os.O_TRUNC if force else os.O_EXCL
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError:
        raise KeyFileError(f"{path} already exists; pass --force to replace it") from None
    with os.fdopen(fd, "wb") as f:
        os.fchmod(f.fileno(), mode)  # umask may have narrowed it; force replaces old modes
        f.write(data)


def write_key_pair(directory: KeyPath, name: str, *, force: bool = False) -> tuple[Path, Path]:
    """Create ``NAME.key`` (0644) and ``NAME.key_secret`` (0600) in ``directory``.

    Returns ``(public_path, secret_path)``. Refuses to overwrite unless ``force``.
    """
    check_name(name)
    folder = Path(directory)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise KeyFileError(f"cannot create key folder {folder}: {exc.strerror or exc}") from None
    public, secret = zmq.curve_keypair()
    pub_path, sec_path = folder / f"{name}{PUBLIC_SUFFIX}", folder / f"{name}{SECRET_SUFFIX}"
    if not force:
        for p in (pub_path, sec_path):
            if p.exists():
                raise KeyFileError(f"{p} already exists; pass --force to replace it")
    try:
        _write_new(sec_path, _render(name, public, secret), 0o600, force)
        _write_new(pub_path, _render(name, public, None), 0o644, force)
    except OSError as exc:
        raise KeyFileError(f"cannot write keys in {folder}: {exc.strerror or exc}") from None
    return pub_path, sec_path
