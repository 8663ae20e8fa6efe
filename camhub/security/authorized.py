"""The allow-list of sender public keys a secure hub accepts, reloadable while it runs.

Sources are folders (every ``*.key`` file in them), single key files, or Z85 key
strings. A reload re-reads them all and swaps the set in one assignment, so readers on
other threads never need a lock. A source that has become unreadable counts as empty:
a hub fails closed rather than keep trusting keys it can no longer see.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

from camhub.security.keys import (
    PUBLIC_SUFFIX,
    SECRET_SUFFIX,
    KeyFileError,
    KeyPath,
    is_z85_key,
    read_key_file,
)

log = logging.getLogger("camhub.security")

Sources = KeyPath | Iterable[KeyPath]
Signature = tuple[tuple[str, int, int, int], ...]


def _as_sources(value: Sources) -> list[KeyPath]:
    if isinstance(value, str | os.PathLike):
        return [value]
    return list(value)


class AuthorizedKeys:
    """Maps each authorized Z85 public key to a name for logs (the file name)."""

    def __init__(self, sources: Sources) -> None:
        self._folders: list[Path] = []
        self._files: list[Path] = []
        self._literal: dict[str, str] = {}
        for source in _as_sources(sources):
            text = os.fspath(source)
            if isinstance(source, str) and not Path(text).exists() and is_z85_key(text):
                self._literal[text] = f"key {text[:8]}..."
            elif Path(text).is_dir():
                self._folders.append(Path(text))
            elif Path(text).is_file():
                self._files.append(Path(text))
            else:
                raise KeyFileError(
                    f"authorized keys {text!r} is neither a folder, a key file nor a CURVE key"
                )
        self._keys: dict[str, str] = {}
        self._signature: Signature = ()
        self._warned: set[str] = set()
        self.reloads = 0
        self.reload()

    @property
    def folders(self) -> list[Path]:
        return list(self._folders)

    def name_of(self, key: str) -> str | None:
        """The name of an authorized key, or None if the key is not (or no longer) allowed."""
        return self._keys.get(key)

    def __contains__(self, key: str) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def names(self) -> list[str]:
        return sorted(self._keys.values())

    def _key_files(self) -> list[Path]:
        found = list(self._files)
        for folder in self._folders:
            try:
                entries = sorted(folder.iterdir())
            except OSError as exc:
                self._warn_once(
                    f"folder:{folder}",
                    f"cannot read authorized keys folder {folder}: {exc.strerror or exc}; "
                    "refusing its keys until it is readable again",
                )
                continue
            for entry in entries:
                if entry.name.endswith(SECRET_SUFFIX):
                    self._warn_once(
                        f"secret:{entry}",
                        f"{entry} is a SECRET key in the authorized keys folder; it is ignored "
                        f"(only public {PUBLIC_SUFFIX} files belong there - delete it)",
                    )
                elif entry.name.endswith(PUBLIC_SUFFIX) and not entry.name.startswith("."):
                    found.append(entry)
        return found

    def signature(self) -> Signature:
        """Cheap fingerprint of the key files (names, sizes, times) to spot changes."""
        out = []
        for path in self._key_files():
            try:
                st = path.stat()
            except OSError:
                continue
            out.append((str(path), st.st_size, st.st_mtime_ns, st.st_ino))
        return tuple(out)

    def changed(self) -> bool:
        return self.signature() != self._signature

    def reload(self) -> tuple[list[str], list[str]]:
        """Re-read every source; returns the names (added, removed)."""
        signature = self.signature()
        keys = dict(self._literal)
        for path in self._key_files():
            try:
                kf = read_key_file(path)
            except KeyFileError as exc:  # reloads happen on changes only, so no log flood
                log.warning("ignoring authorized key: %s", exc)
                continue
            if kf.secret is not None:
                self._warn_once(
                    f"secret:{path}",
                    f"{path} contains a secret key; an authorized keys folder needs only "
                    "public keys (using its public half)",
                )
            keys.setdefault(kf.public.decode(), kf.name)
        old = self._keys
        self._keys = keys
        self._signature = signature
        self.reloads += 1
        added = sorted(keys[k] for k in keys.keys() - old.keys())
        removed = sorted(old[k] for k in old.keys() - keys.keys())
        return added, removed

    def _warn_once(self, tag: str, message: str) -> None:
        if tag not in self._warned:
            self._warned.add(tag)
            log.warning("%s", message)
