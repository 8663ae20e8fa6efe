"""The self-signed HTTPS certificate for `camhub hub --phones`."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import stat
from pathlib import Path

from cryptography import x509

from camhub.security.certs import ensure_certificate, fingerprint, lan_addresses


def sans(path: Path) -> tuple[set[str], set[str]]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(san.get_values_for_type(x509.DNSName)), {
        str(ip) for ip in san.get_values_for_type(x509.IPAddress)
    }


def test_certificate_names_this_machine_and_is_kept(tmp_path: Path) -> None:
    lan = [ipaddress.ip_address("192.168.7.20")]
    cert, key = ensure_certificate(tmp_path, lan)
    dns, ips = sans(cert)
    assert socket.gethostname() in dns and "localhost" in dns
    assert {"127.0.0.1", "192.168.7.20"} <= ips
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)  # the pair matches and loads as a server certificate
    before = fingerprint(cert)
    ensure_certificate(tmp_path, lan)
    assert fingerprint(cert) == before, "a phone that accepted it must not be asked again"


def test_new_lan_address_makes_a_new_certificate(tmp_path: Path) -> None:
    cert, _ = ensure_certificate(tmp_path, [ipaddress.ip_address("10.0.0.5")])
    before = fingerprint(cert)
    ensure_certificate(tmp_path, [ipaddress.ip_address("10.0.0.6")])
    assert fingerprint(cert) != before
    assert "10.0.0.6" in sans(cert)[1]


def test_lan_addresses_exclude_loopback() -> None:
    assert all(not ip.is_loopback for ip in lan_addresses())
