"""What a source string names (:class:`SourceSpec`), and the URL helpers the kinds'
parsers share.

Which strings exist, and what each means, is up to the kinds
(:mod:`camhub.sources.registry`); this module knows none of them. Parsing is pure (no
network, no file-system access) so that config validation can use it; problems an open
would find (a missing file, a refused port) are reported later by the source itself.
Every string a user might see goes through :func:`redact` so that passwords in URLs never
reach logs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit, urlunsplit

from camhub.types import SourceError

_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+)$")


class SourceURIError(SourceError, ValueError):
    """A source string is malformed or names an unknown kind of source."""


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """What to open. ``url`` may hold credentials: show ``display`` to people instead."""

    kind: str
    """The registered kind that opens it (:func:`camhub.sources.registry.source_kinds`)."""
    url: str
    display: str
    username: str | None = None
    password: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    index: int | None = None
    params: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"SourceSpec(kind={self.kind!r}, display={self.display!r})"

    def secrets(self) -> dict[str, str]:
        """Strings that must not be shown (the full URL, the password) -> what to show."""
        out = {self.url: self.display} if self.url != self.display else {}
        if self.password and len(self.password) >= 4:  # shorter ones would mangle text
            out[self.password] = "***"
        return out

    __str__ = __repr__


def redact(uri: str) -> str:
    """``uri`` with any password replaced by ``***`` (safe to log, even if malformed)."""
    return re.sub(r"(//[^/@:?#]*):[^/?#]*@", r"\1:***@", uri)


def netloc(parts: SplitResult, *, redacted: bool, port: int | None = None) -> str:
    """``parts``' host, port (``port`` if given) and user, the password shown or not."""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = parts.port if port is None else port
    out = host if port is None else f"{host}:{port}"
    if parts.username is not None:
        user = parts.username
        if parts.password is not None:
            user += ":***" if redacted else f":{parts.password}"
        out = f"{user}@{out}"
    return out


def split_url(text: str, scheme: str) -> SplitResult:
    """``text`` as ``scheme://HOST...``, checked: a host name, a usable port, no spaces."""
    if not text.lower().startswith(f"{scheme}://"):
        raise SourceURIError(f"malformed URL {redact(text)!r}: expected {scheme}://HOST...")
    if any(c.isspace() for c in text):
        raise SourceURIError(f"malformed URL {redact(text)!r}: contains whitespace")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise SourceURIError(f"malformed URL {redact(text)!r}: {exc}") from None
    host = parts.hostname
    if not host:
        raise SourceURIError(f"malformed URL {redact(text)!r}: no host name")
    if _HOST.match(host if ":" not in host else f"[{host}]") is None:
        raise SourceURIError(f"malformed URL {redact(text)!r}: bad host name {host!r}")
    if port == 0:
        raise SourceURIError(f"malformed URL {redact(text)!r}: port 0 is not a usable port")
    return parts


def url_scheme(text: str) -> str:
    """The scheme of a source string the registry handed over by its scheme."""
    return text.partition(":")[0].lower()


def network_spec(kind: str, parts: SplitResult, port: int | None = None) -> SourceSpec:
    """A network camera's spec: the URL for use, the URL without password for people,
    the credentials apart and the query as ``params``."""
    url = urlunsplit(parts._replace(netloc=netloc(parts, redacted=False, port=port)))
    display = urlunsplit(parts._replace(netloc=netloc(parts, redacted=True, port=port)))
    params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    return SourceSpec(
        kind,
        url,
        display,
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
        params=params,
    )


def host_name(spec: SourceSpec) -> str:
    """A network camera's default name: its host (the kind's name if it has none)."""
    return urlsplit(spec.url).hostname or spec.kind
