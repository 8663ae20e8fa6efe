"""What ``camhub hub --phones`` prepares before anything listens: the phones folder,
the pairing code and devices, an HTTPS certificate (unless one is given), and a
dashboard token (the dashboard is then reachable from the LAN, so it needs one)."""

from __future__ import annotations

import secrets
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from camhub.phones.devices import DeviceFileError, DeviceRegistry, default_dir, write_private
from camhub.security.certs import ensure_certificate, lan_addresses

DEFAULT_PHONES_WEB = "0.0.0.0:8443"
TOKEN_FILE = "dashboard.token"


@dataclass(slots=True)
class PhoneSetup:
    folder: Path
    registry: DeviceRegistry
    tls_cert: str
    tls_key: str
    own_certificate: bool
    web_token: str
    host: str
    """The address phones open: the LAN address with the default route, else the host
    name."""

    def base_url(self, port: int) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{port}/"

    def join_url(self, port: int) -> str:
        return f"{self.base_url(port)}cam?pair={quote(self.registry.pairing_code)}"

    def dashboard_url(self, port: int) -> str:
        return f"{self.base_url(port)}?token={quote(self.web_token)}"


def _token(folder: Path, given: str | None) -> str:
    """The dashboard token kept in ``folder``: made on first use, written 0600 from its
    first byte; a token file that others can read (an older camhub's) is tightened."""
    if given:
        return given
    path = folder / TOKEN_FILE
    try:
        if path.is_symlink():
            raise DeviceFileError(f"{path} is a symbolic link; the token file must be a file")
        token = path.read_text().strip() if path.is_file() else ""
        if not token:
            token = secrets.token_urlsafe(18)
            write_private(path, token + "\n")
        elif path.stat().st_mode & 0o077:
            path.chmod(0o600)
    except OSError as exc:
        raise DeviceFileError(f"cannot keep the dashboard token in {path}: {exc}") from None
    return token


def prepare(
    folder: str | Path | None,
    *,
    tls_cert: str | None,
    tls_key: str | None,
    web_token: str | None,
    host: str | None = None,
) -> PhoneSetup:
    where = Path(folder) if folder is not None else default_dir()
    registry = DeviceRegistry(where)
    own = tls_cert is not None and tls_key is not None
    if not own:
        cert, key = ensure_certificate(where)
        tls_cert, tls_key = str(cert), str(key)
    assert tls_cert is not None and tls_key is not None
    if host is None:
        lan = lan_addresses()
        host = str(lan[0]) if lan else socket.gethostname()
    return PhoneSetup(where, registry, tls_cert, tls_key, own, _token(where, web_token), host)
