"""Webhook sink: POST each event's JSON (the same ``{"type", "before", "after"}`` as the
MQTT ``events`` topic) to one URL.

Each attempt has a timeout; a failed attempt (connection refused, timeout, HTTP 5xx,
408 or 429) is retried ``retries`` times with a doubling backoff, then the event is
dropped and counted. Other 4xx answers are not retried: the target said no. All of it
runs on the sink's own bus thread, so a slow or dead target delays only this sink; its
bounded queue drops (and counts) the oldest events once it is full.
"""

from __future__ import annotations

import hashlib
import logging
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from pydantic import BaseModel

from camhub.events.model import EventUpdate
from camhub.notify.base import Sink, register
from camhub.notify.settings import WebhookSettings
from camhub.types import ArgumentTypeError

log = logging.getLogger("camhub.notify.webhook")

_RETRY_STATUS = {408, 425, 429}
_USER_AGENT = "camhub-webhook/1"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect would turn the POST into a GET elsewhere; report it instead."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@register
class WebhookSink(Sink):
    type_name = "webhook"
    config = WebhookSettings
    kinds = (EventUpdate,)

    def __init__(self, settings: WebhookSettings, *, name: str | None = None) -> None:
        parts = urlsplit(settings.url)
        super().__init__(
            name or settings.name or f"webhook-{parts.hostname}", queue_size=settings.queue_size
        )
        self.settings = settings
        self.attempts = 0
        self._opener = urllib.request.build_opener(_NoRedirect())
        self._ok = True
        self._shown = redact_url(settings.url)
        self._secrets = _secret_parts(settings.url)

    @classmethod
    def from_settings(cls, settings: BaseModel) -> Sink:
        if not isinstance(settings, WebhookSettings):
            raise ArgumentTypeError(
                f"{cls.__name__} needs WebhookSettings, not {type(settings).__name__}"
            )
        return cls(settings)

    @property
    def target(self) -> str:
        return self._shown

    @property
    def connected(self) -> bool:
        return self._ok

    def add(self, message: object) -> None:
        if not isinstance(message, EventUpdate):
            return
        body = message.json  # built once per change, shared with the other outputs
        delay = self.settings.backoff
        for attempt in range(self.settings.retries + 1):
            if attempt:
                if self._stopping.wait(delay):
                    break  # stopping: do not hold shutdown up with backoff waits
                delay *= 2
            retry, error = self._post(body)
            if error is None:
                self._ok = True
                self._sent()
                return
            self._ok = False
            error = self._scrub(error)
            self._error(error)
            log.warning(
                "webhook %s: %s (attempt %d of %d)",
                self.target,
                error,
                attempt + 1,
                self.settings.retries + 1,
            )
            if not retry:
                break
        self._drop()

    def _post(self, body: bytes) -> tuple[bool, str | None]:
        """One attempt: ``(worth retrying, error or None)``."""
        self.attempts += 1
        request = urllib.request.Request(
            self.settings.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": _USER_AGENT,
                **self.settings.headers,
            },
        )
        try:
            with self._opener.open(request, timeout=self.settings.timeout) as response:
                response.read(65536)
                return False, None
        except urllib.error.HTTPError as exc:
            exc.close()
            retry = exc.code >= 500 or exc.code in _RETRY_STATUS
            return retry, f"HTTP {exc.code} {exc.reason}"
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                return True, f"no answer within {self.settings.timeout:g} s"
            return True, f"unreachable: {getattr(reason, 'strerror', None) or reason}"
        except TimeoutError:
            return True, f"no answer within {self.settings.timeout:g} s"
        except OSError as exc:
            return True, f"connection failed: {exc.strerror or exc}"
        except ValueError as exc:  # http.client.InvalidURL and the like: it never will work
            return False, f"unusable URL: {exc}"

    def _scrub(self, text: str) -> str:
        """``text`` without any part of the URL that may be its credential."""
        for secret in self._secrets:
            text = text.replace(secret, "…")
        return text


def redact_url(url: str) -> str:
    """A webhook URL as logs and the API show it: ``scheme://host[:port]/…`` and a short
    fingerprint (to tell two hooks on one host apart). Slack, Discord and Home Assistant
    webhooks carry their credential in the path; others in the query or user info."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return f"(unparsable URL {_fingerprint(url)})"
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    hidden = parts.path not in ("", "/") or parts.query or parts.username or parts.fragment
    return f"{parts.scheme}://{host}{port}/{'…' if hidden else ''} ({_fingerprint(url)})"


def _fingerprint(url: str) -> str:
    return "#" + hashlib.sha256(url.encode()).hexdigest()[:8]


def _secret_parts(url: str) -> list[str]:
    """The full URL and each part of it that may hold a credential, longest first."""
    parts = urlsplit(url)
    found = [url, parts.path, parts.query, parts.fragment, parts.username, parts.password]
    found += [seg for seg in parts.path.split("/") if len(seg) >= 10]  # token-like
    return sorted({p for p in found if p and len(p) >= 4}, key=len, reverse=True)
