"""Settings of the notification sinks, as they appear in the fleet config file
(``[mqtt]``, ``[[webhooks]]`` and ``[[notify]]`` with a ``type``) and behind
``camhub hub --mqtt/--webhook``.

Every sink's section derives from :class:`SinkSection` and names its ``type``; the sink
class points at it (``config = MySettings``) and registers itself
(:func:`camhub.notify.register`). :class:`SinkSections` is the tagged union of every
registered sink's section, so a new sink needs no edit here or in the config file model.

Validation is pure: it checks shapes (a URL's scheme and host, a port's range) but never
connects or opens a file.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from typing import Any, Literal
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic import Field, field_validator, model_validator

from camhub.section import PluginUnion, Section, secret
from camhub.types import CamhubError

_TOPIC_PART = re.compile(r"^[^#+\x00]+$")


class NotifySettingsError(CamhubError, ValueError):
    """A notification option (broker address, webhook URL...) is unusable."""


class SinkSection(Section):
    """Base of a sink's settings: ``type`` says which sink reads them."""

    type: str


class SinkSections(PluginUnion):
    """One of the registered sinks' sections, chosen by ``type`` (``[[notify]]``)."""

    @classmethod
    def members(cls) -> Sequence[type[Section]]:
        from camhub.notify.base import sink_class, sink_types

        out: list[type[Section]] = []
        for name in sink_types():
            config = sink_class(name).__dict__.get("config")  # its own, not a base's
            if config is not None:
                out.append(config)
        return out


def _topic_prefix(value: str, what: str) -> str:
    if not value or value.startswith("/") or value.endswith("/") or not _TOPIC_PART.match(value):
        raise ValueError(
            f"{what} {value!r} must be a non-empty MQTT topic without '#', '+' "
            "or a leading/trailing '/', e.g. 'camhub' or 'home/camhub'"
        )
    return value


class MqttSettings(SinkSection):
    """An MQTT broker to publish events, counts, snapshots and camera states to."""

    type: Literal["mqtt"] = Field(default="mqtt", description="Sink type.")
    host: str = Field(description="Broker host name or IP address.", min_length=1, max_length=253)
    port: int = Field(default=1883, ge=1, le=65535, description="Broker port (TLS: often 8883).")
    username: str | None = Field(default=None, max_length=256, description="Broker user name.")
    password: str | None = secret(default=None, max_length=1024, description="Broker password.")
    tls: bool = Field(default=False, description="Connect with TLS.")
    ca_file: str | None = Field(
        default=None, description="PEM file of the CA that signed the broker's certificate "
        "(implies tls; default: the system's CAs)."
    )  # fmt: skip
    insecure: bool = Field(
        default=False, description="With TLS, accept any certificate (testing only)."
    )
    client_id: str | None = Field(
        default=None, max_length=128, description="MQTT client id (default: camhub-HOST-RANDOM)."
    )
    qos: Literal[0, 1, 2] = Field(default=0, description="QoS of every message.")
    prefix: str = Field(default="camhub", max_length=200, description="Topic prefix.")
    keepalive: int = Field(default=30, ge=5, le=3600, description="Keep-alive seconds.")
    retry_max: float = Field(
        default=30.0, ge=1, le=3600, description="Longest wait between reconnect attempts (s)."
    )
    discovery: bool = Field(
        default=False, description="Publish Home Assistant MQTT discovery messages."
    )
    discovery_prefix: str = Field(
        default="homeassistant", max_length=200, description="Home Assistant discovery prefix."
    )
    base_url: str | None = Field(
        default=None,
        description="The dashboard's URL as Home Assistant users reach it (for links).",
    )
    queue_size: int = Field(
        default=256, ge=1, le=100_000, description="Messages queued while the broker is away."
    )

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return _topic_prefix(value, "prefix")

    @field_validator("discovery_prefix")
    @classmethod
    def _discovery_prefix(cls, value: str) -> str:
        return _topic_prefix(value, "discovery_prefix")

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        value = value.strip().removeprefix("[").removesuffix("]")
        if not value or any(c in value for c in " /?#@"):
            raise ValueError(f"bad broker host {value!r}: give a host name or IP address only")
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        return None if value is None else check_url(value, what="base_url").rstrip("/")

    @model_validator(mode="after")
    def _credentials(self) -> MqttSettings:
        if self.password is not None and self.username is None:
            raise ValueError("password is set but username is not")
        return self

    @property
    def use_tls(self) -> bool:
        return self.tls or self.ca_file is not None or self.insecure

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


class WebhookSettings(SinkSection):
    """A URL that receives every event as an HTTP POST of JSON. Credentials in the URL
    (``https://user:password@host/...``) are sent as HTTP basic authentication."""

    type: Literal["webhook"] = Field(default="webhook", description="Sink type.")
    url: str = secret(
        description="http:// or https:// URL to POST to (user:password@ for basic auth).",
        max_length=2048,
    )
    name: str | None = Field(
        default=None, max_length=64, description="Name in health stats (default: the host)."
    )
    timeout: float = Field(default=5.0, gt=0, le=120, description="Seconds per attempt.")
    retries: int = Field(default=3, ge=0, le=20, description="Retries after a failed attempt.")
    backoff: float = Field(
        default=1.0, ge=0, le=300, description="Wait before the first retry; doubles each time."
    )
    headers: dict[str, str] = secret(  # may hold a token
        default_factory=dict, description="Extra request headers, e.g. Authorization."
    )
    queue_size: int = Field(
        default=256, ge=1, le=100_000, description="Events queued while the target is slow."
    )

    @model_validator(mode="before")
    @classmethod
    def _basic_auth(cls, data: Any) -> Any:
        """``user:password@`` in the URL becomes an Authorization header: urllib would
        otherwise take it for part of the host name, and the hook could never deliver."""
        if not isinstance(data, dict) or not isinstance(data.get("url"), str):
            return data
        try:
            parts = urlsplit(data["url"].strip())
            user, password = parts.username, parts.password
        except ValueError:
            return data  # the url check says what is wrong
        if user is None:
            return data
        headers = data.get("headers") or {}
        if not isinstance(headers, dict):
            return data
        if any(key.lower() == "authorization" for key in headers):
            raise ValueError(
                "the URL has user:password@ and headers has an Authorization header: "
                "give the credentials in one place"
            )
        pair = f"{unquote(user)}:{unquote(password or '')}".encode()
        auth = "Basic " + base64.b64encode(pair).decode("ascii")
        host = parts.netloc.rpartition("@")[2]
        url = urlunsplit(parts._replace(netloc=host))
        return {**data, "url": url, "headers": {**headers, "Authorization": auth}}

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_url(value, what="webhook URL")

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for key, text in value.items():
            if not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", key):
                raise ValueError(f"bad header name {key!r}")
            if "\r" in text or "\n" in text:
                raise ValueError(f"header {key!r} has a line break in its value")
        return value


_URL = re.compile(
    r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)?(?P<netloc>[^/?#]*)(?P<rest>.*)$", re.S
)


def shown_url(value: str) -> str:
    """``value`` safe to show: no ``user:password@``, and no path or query (Slack,
    Discord and Home Assistant webhooks carry their secret there)."""
    m = _URL.match(value.strip())
    assert m is not None  # the pattern matches any text
    netloc = m["netloc"]
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    tail = m["rest"] if m["rest"] in ("", "/") else "/…"
    return f"{m['scheme'] or ''}{netloc}{tail}"


def check_url(value: str, *, what: str) -> str:
    """An absolute http(s) URL with a host, or a ``ValueError`` that says what is wrong
    (showing the URL without its credentials, path or query)."""
    text = value.strip()
    shown = shown_url(text)
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise ValueError(f"bad {what} {shown!r}: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(
            f"bad {what} {shown!r}: it must start with http:// or https:// "
            f"(got {parts.scheme + '://' if parts.scheme else 'no scheme'})"
        )
    if not parts.hostname:
        raise ValueError(f"bad {what} {shown!r}: no host name")
    if any(c.isspace() for c in text):
        raise ValueError(f"bad {what} {shown!r}: it contains white space")
    return text


def parse_broker(text: str) -> tuple[str, int]:
    """``HOST[:PORT]`` (``[v6]:PORT`` for IPv6) as given to ``--mqtt``."""
    text = text.strip()
    host, port = text, "1883"
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                host = ""
            port = rest[1:]
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise NotifySettingsError(
            f"bad MQTT broker {text!r}: expected HOST or HOST:PORT, e.g. 127.0.0.1:1883"
        )
    return host, int(port)
