"""What a notification sink is: a small lifecycle (``start``, ``add``, ``stop``), its
health counters, and the registry that maps a type name (``"mqtt"``) to its class.

A sink never runs on the receive thread. ``start(bus)`` subscribes it to the
:class:`~camhub.bus.EventBus` with its own bounded queue and thread, so a dead broker or
a slow webhook only fills (and then overflows, counted) that queue; ingest never waits.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel

from camhub.bus import BusSubscription, EventBus
from camhub.events.model import ActiveCount, EventUpdate
from camhub.types import ArgumentError, CamhubError, HubEvent

if TYPE_CHECKING:
    from camhub.section import Section

log = logging.getLogger("camhub.notify")


@dataclass(slots=True)
class SinkStats:
    """A sink's health, safe to hand to other threads (API, metrics, dashboard)."""

    name: str
    type: str
    target: str
    """Where it sends: ``broker:port`` or the webhook URL (no credentials)."""
    connected: bool
    sent: int
    """Messages delivered (MQTT publishes, HTTP POSTs)."""
    dropped: int
    """Bus messages (events) given up on: the sink's queue overflowed, retries ran out,
    or the sink stopped before it could deliver them."""
    errors: int
    """Failed attempts (a refused connection, an HTTP error, a timeout)."""
    pending: int
    last_error: str | None
    last_error_at: float | None

    def as_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__slots__}


class Sink:
    """Base class of every notification sink.

    Subclasses implement ``add(message)`` (deliver one message; it may block, it runs on
    the sink's own thread) and may override ``open``/``close`` for connections and threads.
    They report through ``_sent``, ``_drop`` and ``_error``. A sink only maps messages to
    its outputs (topics, URLs, lines): the event lifecycle, the counts and the JSON come
    from :mod:`camhub.events`.
    """

    type_name: ClassVar[str] = ""
    config: ClassVar[type[Section] | None] = None
    """Its config section (``type`` = ``type_name``); ``None``: not configurable by file."""
    kinds: ClassVar[tuple[type, ...]] = (EventUpdate, ActiveCount, HubEvent)
    """Which bus messages the sink receives: event changes (their JSON is
    ``message.json``, built once and shared), the event manager's active counts, and the
    hub's camera notices. Narrow it to what ``add`` maps, so that the bounded queue holds
    only those."""

    def __init__(self, name: str, *, queue_size: int = 256) -> None:
        self.name = name
        self.queue_size = queue_size
        self._sub: BusSubscription | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.sent = 0
        self._dropped = 0
        self.errors = 0
        self.last_error: str | None = None
        self.last_error_at: float | None = None

    # -- lifecycle -------------------------------------------------------------------

    @classmethod
    def from_settings(cls, settings: BaseModel) -> Sink:
        """Build the sink from its settings model (what the registry calls)."""
        raise NotImplementedError

    def start(self, bus: EventBus | None = None) -> Sink:
        """Open connections, then (with ``bus``) receive its messages on a bounded queue."""
        self._stopping.clear()
        self.open()
        if bus is not None:
            self._sub = bus.subscribe(
                self._handle, name=f"sink-{self.name}", kinds=self.kinds, maxsize=self.queue_size
            )
        return self

    def stop(self) -> None:
        """Stop taking messages, drop (and count) what is still queued, close."""
        self._stopping.set()
        sub = self._sub
        if sub is not None:
            sub.close(timeout=5.0)
            with self._lock:
                self._sub = None
                self._dropped += sub.dropped  # keep the count once the queue is gone
        self.close()

    def open(self) -> None:
        """Start connections and threads (called by ``start``)."""

    def close(self) -> None:
        """Stop connections and threads (called by ``stop``)."""

    def add(self, message: object) -> None:
        """Deliver one message; runs on the sink's thread, so it may wait."""
        raise NotImplementedError

    # -- bookkeeping -----------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    @property
    def connected(self) -> bool:
        return True

    @property
    def target(self) -> str:
        return ""

    def _handle(self, message: object) -> None:
        if self.stopping:
            self._drop()
            return
        try:
            self.add(message)
        except Exception as exc:  # a bug in one message's handling must not stop the sink
            self._error(f"{type(exc).__name__}: {exc}")
            self._drop()
            log.exception("%s sink %s failed on %r", self.type_name, self.name, message)

    def _sent(self, count: int = 1) -> None:
        with self._lock:
            self.sent += count

    def _drop(self, count: int = 1) -> None:
        with self._lock:
            self._dropped += count

    def _error(self, text: str) -> None:
        with self._lock:
            self.errors += 1
            self.last_error = text
            self.last_error_at = time.time()

    @property
    def dropped(self) -> int:
        with self._lock:
            return self._dropped + (0 if self._sub is None else self._sub.dropped)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every message queued so far is handled (tests, benchmarks)."""
        return True if self._sub is None else self._sub.flush(timeout)

    def stats(self) -> SinkStats:
        return SinkStats(
            name=self.name,
            type=self.type_name,
            target=self.target,
            connected=self.connected,
            sent=self.sent,
            dropped=self.dropped,
            errors=self.errors,
            pending=0 if self._sub is None else self._sub.pending,
            last_error=self.last_error,
            last_error_at=self.last_error_at,
        )


class UnknownSink(CamhubError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


_REGISTRY: dict[str, type[Sink]] = {}
_BUILTIN = ("camhub.notify.mqtt", "camhub.notify.webhook")


def _load_builtin() -> None:
    import importlib

    for module in _BUILTIN:
        importlib.import_module(module)


def register(cls: type[Sink]) -> type[Sink]:
    """Class decorator: make ``cls`` available by its ``type_name``."""
    if not cls.type_name or not cls.type_name.isidentifier():
        raise ArgumentError(f"{cls.__name__}.type_name must be a short identifier")
    _REGISTRY[cls.type_name] = cls
    return cls


def sink_types() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def sink_class(type_name: str) -> type[Sink]:
    _load_builtin()
    try:
        return _REGISTRY[type_name]
    except KeyError:
        known = ", ".join(sink_types()) or "none"
        raise UnknownSink(f"unknown sink type {type_name!r} (known: {known})") from None
