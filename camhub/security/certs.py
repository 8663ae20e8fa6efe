"""A self-signed certificate for serving the hub over HTTPS on a LAN.

Mobile browsers give a page the camera only over https (or on localhost), so
``camhub hub --phones`` needs a certificate whose names match the address the phone
opens. :func:`ensure_certificate` makes one for this machine's LAN addresses and host
name, keeps it, and makes a new one only when a current address is missing from it (a
new DHCP lease) or it is about to expire; so a phone that accepted it once is not asked
again. To use a certificate of your own instead, pass ``--tls-cert``/``--tls-key``.
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
import os
import socket
from pathlib import Path

import psutil
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from camhub.types import CamhubError

log = logging.getLogger("camhub.security")

CERT_FILE = "hub-cert.pem"
KEY_FILE = "hub-key.pem"
VALID_DAYS = 825
"""Apple's ceiling for a server certificate's lifetime."""
RENEW_DAYS = 30


class CertificateError(CamhubError):
    """The certificate cannot be made, read or written."""


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def lan_addresses() -> list[IPAddress]:
    """This machine's IPv4 addresses other than loopback and link-local, the one with the
    default route first (it is the one a phone on the same Wi-Fi reaches)."""
    found: list[IPAddress] = []
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # UDP connect sends nothing; picks the route
            found.append(ipaddress.ip_address(probe.getsockname()[0]))
    except OSError:
        pass
    for addrs in psutil.net_if_addrs().values():
        for addr in addrs:
            if addr.family == socket.AF_INET:
                found.append(ipaddress.ip_address(addr.address))
    out: list[IPAddress] = []
    for ip in found:
        if not (ip.is_loopback or ip.is_link_local or ip.is_unspecified) and ip not in out:
            out.append(ip)
    return out


def wanted_names(addresses: list[IPAddress] | None = None) -> tuple[list[str], list[IPAddress]]:
    """The DNS names and IP addresses the certificate should cover."""
    host = socket.gethostname()
    dns = [n for n in dict.fromkeys([host, f"{host}.local", "localhost"]) if n]
    ips: list[IPAddress] = [ipaddress.ip_address("127.0.0.1")]
    ips += [ip for ip in (lan_addresses() if addresses is None else addresses) if ip not in ips]
    return dns, ips


def _covers(cert: x509.Certificate, dns: list[str], ips: list[IPAddress]) -> bool:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    have_dns = set(san.get_values_for_type(x509.DNSName))
    have_ips = set(san.get_values_for_type(x509.IPAddress))
    return set(dns) <= have_dns and set(ips) <= have_ips


def make_certificate(
    dns: list[str], ips: list[IPAddress], days: int = VALID_DAYS
) -> tuple[bytes, bytes]:
    """A new self-signed certificate and its key, both PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"camhub on {dns[0]}")])
    now = datetime.datetime.now(datetime.UTC)
    alt: list[x509.GeneralName] = [x509.DNSName(n) for n in dns]
    alt += [x509.IPAddress(ip) for ip in ips]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def ensure_certificate(
    folder: str | os.PathLike[str], addresses: list[IPAddress] | None = None
) -> tuple[Path, Path]:
    """``(cert, key)`` paths in ``folder``: the kept certificate if it still covers this
    machine's names and is not near expiry, else a new one."""
    folder = Path(folder)
    cert_path, key_path = folder / CERT_FILE, folder / KEY_FILE
    dns, ips = wanted_names(addresses)
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if cert_path.is_file() and key_path.is_file():
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            left = cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
            if _covers(cert, dns, ips) and left > datetime.timedelta(days=RENEW_DAYS):
                return cert_path, key_path
            log.info("making a new certificate: the kept one does not cover %s", ips)
        cert_pem, key_pem = make_certificate(dns, ips)
        _write(key_path, key_pem, 0o600)
        _write(cert_path, cert_pem, 0o644)
    except (OSError, ValueError) as exc:
        raise CertificateError(f"cannot make the HTTPS certificate in {folder}: {exc}") from None
    log.info("HTTPS certificate %s for %s", cert_path, ", ".join([*dns, *map(str, ips)]))
    return cert_path, key_path


def fingerprint(cert_path: str | os.PathLike[str]) -> str:
    """SHA-256 fingerprint, colon-separated (what browsers show in the certificate view)."""
    cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()
