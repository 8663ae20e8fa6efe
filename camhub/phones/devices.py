"""Who may stream from a browser: one pairing code, then a token per device.

A phone joins with the hub's pairing code (in the QR link) and a device name; the hub
answers with a device token that only that phone keeps. The hub stores a SHA-256 of each
token, never the token, in ``devices.json`` in the phones folder, together with the
pairing code (``pairing.code``). Revoking a device marks it revoked in that file. The
file is re-read whenever it changes (checked at most once a second), so
``camhub phones revoke NAME`` from another process takes effect on the running hub
without a restart, as deleting a CURVE key file does.

File format (``devices.json``)::

    {"devices": [{"name": "kitchen", "sha256": "<hex>", "paired_at": 1700000000.0,
                  "revoked_at": null}]}
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from camhub.datadir import open_private, private_dir, tighten_dir
from camhub.types import CamhubError

log = logging.getLogger("camhub.phones")

DEVICES_FILE = "devices.json"
PAIRING_FILE = "pairing.code"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$")
"""Device names become camera names, file names and log text: keep them plain."""


class DeviceError(CamhubError):
    """A phone's pairing or token was refused; the text is shown on the phone."""


class DeviceFileError(CamhubError):
    """The phones folder or its devices file cannot be read or written."""


def default_dir() -> Path:
    """Where ``--phones`` keeps its certificate, pairing code and devices by default."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(base) / "camhub" / "phones"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def check_name(name: str) -> str:
    name = name.strip()
    if not NAME_RE.match(name):
        raise DeviceError(
            f"device name {name[:70]!r} is not allowed: use 1 to 63 letters, digits, spaces, "
            "dots, dashes or underscores, starting with a letter or digit"
        )
    return name


@dataclass(slots=True)
class Device:
    name: str
    sha256: str
    paired_at: float
    revoked_at: float | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically; the file is 0600 from its first byte
    (a leftover temporary file of a crash, whatever its mode, is not reused)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    with open_private(tmp) as f:
        f.write(text.encode())
    os.replace(tmp, path)


class DeviceRegistry:
    """The pairing code and the paired devices in ``folder`` (created with mode 0700)."""

    RECHECK_S = 1.0

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        try:
            private_dir(self.folder)
            tighten_dir(self.folder, "phones folder")  # it holds the dashboard token
        except OSError as exc:
            raise DeviceFileError(
                f"cannot create the phones folder {self.folder}: {exc.strerror or exc}"
            ) from None
        self.path = self.folder / DEVICES_FILE
        self._lock = threading.Lock()
        self._devices: dict[str, Device] = {}
        self._by_hash: dict[str, Device] = {}
        self._signature: tuple[int, int, int] | None = None
        self._checked = 0.0
        self.pairing_code = self._pairing_code()
        self._load()

    # -- the files -------------------------------------------------------------------

    def _pairing_code(self) -> str:
        path = self.folder / PAIRING_FILE
        try:
            code = path.read_text().strip()
        except FileNotFoundError:
            code = ""
        except OSError as exc:
            raise DeviceFileError(f"cannot read {path}: {exc.strerror or exc}") from None
        if len(code) < 16:
            code = secrets.token_urlsafe(16)
            write_private(path, code + "\n")
        return code

    def current_pairing_code(self) -> str:
        """The pairing code as the file has it now (another process may have renewed it)."""
        self.pairing_code = self._pairing_code()
        return self.pairing_code

    def rotate_pairing_code(self) -> str:
        """A new pairing code: old QR codes stop working, paired phones keep working."""
        code = secrets.token_urlsafe(16)
        write_private(self.folder / PAIRING_FILE, code + "\n")
        self.pairing_code = code
        return code

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_size, st.st_mtime_ns, st.st_ino)

    def _load(self) -> None:
        signature = self._stat()
        devices: dict[str, Device] = {}
        if signature is not None:
            try:
                data = json.loads(self.path.read_text())
                for item in data["devices"]:
                    dev = Device(
                        str(item["name"]),
                        str(item["sha256"]),
                        float(item["paired_at"]),
                        None if item.get("revoked_at") is None else float(item["revoked_at"]),
                    )
                    devices[dev.name] = dev
            except (OSError, ValueError, KeyError, TypeError) as exc:
                # Fail closed: a device file we cannot read admits nobody.
                log.error(
                    "cannot read %s (%s): no phone may stream until it is fixed", self.path, exc
                )
                devices = {}
        self._devices = devices
        self._by_hash = {d.sha256: d for d in devices.values() if not d.revoked}
        self._signature = signature

    def _save(self) -> None:
        items = [asdict(d) for d in sorted(self._devices.values(), key=lambda d: d.name)]
        write_private(self.path, json.dumps({"devices": items}, indent=1) + "\n")
        self._signature = self._stat()

    def refresh(self, force: bool = False) -> None:
        """Re-read the devices file if it changed (at most once a second unless forced)."""
        now = time.monotonic()
        if not force and now - self._checked < self.RECHECK_S:
            return
        self._checked = now
        if self._stat() != self._signature:
            with self._lock:
                self._load()

    # -- what the hub asks -----------------------------------------------------------

    def devices(self) -> list[Device]:
        self.refresh(force=True)
        return sorted(self._devices.values(), key=lambda d: d.name)

    def pair(self, code: str, name: str) -> str:
        """Check the pairing code, register ``name`` and return its new device token."""
        self.current_pairing_code()  # `camhub phones pairing --new` may have run
        if not hmac.compare_digest(code.encode("utf-8", "replace"), self.pairing_code.encode()):
            raise DeviceError(
                "this pairing code is not (or no longer) valid: scan the QR code the hub shows now"
            )
        name = check_name(name)
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._load()  # pair against the file as it is now, not as it was
            old = self._devices.get(name)
            if old is not None and old.revoked:
                raise DeviceError(
                    f"device {name!r} was revoked on the hub; choose another name, or ask "
                    f"the hub's owner to run: camhub phones forget {name!r}"
                )
            self._devices[name] = Device(name, token_hash(token), time.time())
            self._by_hash = {d.sha256: d for d in self._devices.values() if not d.revoked}
            self._save()
        log.info("phone %s paired", name)
        return token

    def check(self, token: str) -> Device:
        """The device a token belongs to, or DeviceError saying why it is refused."""
        if not token:
            raise DeviceError("no device token: open the link from the hub's QR code to pair")
        self.refresh()
        digest = token_hash(token)
        device = self._by_hash.get(digest)
        if device is not None:
            return device
        if any(d.sha256 == digest for d in self._devices.values()):
            raise DeviceError("this phone's access was revoked on the hub")
        raise DeviceError("unknown device token: pair again with the hub's QR code")

    def revoke(self, name: str) -> Device:
        with self._lock:
            self._load()
            device = self._devices.get(name)
            if device is None:
                raise DeviceError(f"no device named {name!r} (see: camhub phones list)")
            if device.revoked_at is None:
                device.revoked_at = time.time()
            self._by_hash.pop(device.sha256, None)
            self._save()
        return device

    def forget(self, name: str) -> None:
        """Remove a device entirely (a revoked name may then pair again)."""
        with self._lock:
            self._load()
            if self._devices.pop(name, None) is None:
                raise DeviceError(f"no device named {name!r} (see: camhub phones list)")
            self._by_hash = {d.sha256: d for d in self._devices.values() if not d.revoked}
            self._save()
