"""Limits for browser cameras, and the counters that show who hit them.

Three things are bounded, each with its own reason text that the phone is shown:

* connection attempts per network address (a token bucket: a burst, then a steady rate),
  and open connections per address and in all;
* frames per second per device (a token bucket of one second's frames; frames over it are
  dropped and counted, and a client that keeps sending at more than twice the allowed
  rate is disconnected);
* what each frame may be: the hub's :class:`~camhub.protocol.Limits`, applied by the
  same decoder as the ZeroMQ path.

Every refusal is counted per client (device name once known, else the address), and in
totals that the hub adds to its own (``/api/cameras``, the dashboard header, ``/metrics``),
by a reason code such as :data:`REFUSED_TOKEN`.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

MAX_CLIENTS_TRACKED = 4096
"""Counters kept for at most this many clients (oldest forgotten first), so address churn
cannot grow memory without bound."""

# Why a browser camera was refused: the ``reason`` label of ``camhub_refused_total``
# (prefixed, beside the secure mode's reasons).
REFUSED_LIMIT = "phone_limit"
"""Too many connection attempts or open connections (from one address, or in all)."""
REFUSED_PAIRING = "phone_pairing"
"""A pairing request with a wrong or stale code, a revoked name, or no valid JSON."""
REFUSED_NO_HELLO = "phone_no_hello"
"""No hello with a device token in time."""
REFUSED_TOKEN = "phone_token"
"""A missing or unknown device token."""
REFUSED_REVOKED = "phone_revoked"
"""A revoked device (at connection, or while streaming)."""
REFUSED_IDLE = "phone_idle"
"""A connection that sent nothing for the idle timeout."""
_BAD_FRAMES = frozenset({"malformed", "oversized"})
_MESSAGES = frozenset({"malformed", "oversized", "rate_limited"})


@dataclass(slots=True)
class PhoneLimits:
    max_fps: float = 30.0
    """Frames per second one device may send; more is dropped, twice as many disconnects."""
    attempts_burst: int = 60
    """Connection attempts an address may make at once..."""
    attempts_per_s: float = 2.0
    """...and then per second."""
    max_per_address: int = 16
    max_connections: int = 128
    auth_timeout_s: float = 5.0
    """Time a new connection has to present its device token."""
    idle_timeout_s: float = 30.0
    """A connection that sends nothing (not even a ping) for this long is closed."""


class Bucket:
    """A token bucket; ``take()`` is O(1)."""

    __slots__ = ("_at", "capacity", "rate", "tokens")

    def __init__(self, capacity: float, rate: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self._at = time.monotonic()

    def take(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        self.tokens = min(self.capacity, self.tokens + (now - self._at) * self.rate)
        self._at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass(slots=True)
class ClientStats:
    """What one client (a device, or an address before it said who it is) did."""

    client: str
    connections: int = 0
    frames: int = 0
    bytes: int = 0
    refused: int = 0
    """Connections refused: bad token, too many attempts or connections."""
    oversized: int = 0
    malformed: int = 0
    """Frames that are not a JPEG the hub accepts (garbage, bombs, bad stamps)."""
    rate_limited: int = 0
    """Frames dropped because the device sent faster than allowed."""
    encoding: str = ""
    """What its last frame was: ``jpeg``, or the video codec (``h264``, ``vp8``...)."""
    last_reason: str = ""
    last_at: float = field(default_factory=time.time)

    def as_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__slots__}


@dataclass(frozen=True, slots=True)
class GateTotals:
    """What every browser camera did since the hub started (totals are never forgotten,
    unlike the per-client counters)."""

    messages: int = 0
    """Frame messages received: accepted, malformed, oversized or over the frame rate."""
    frames: int = 0
    malformed: int = 0
    """Frames refused as bad: not a JPEG the hub accepts, or over the size limit."""
    refused: int = 0
    refused_by_reason: dict[str, int] = field(default_factory=dict)
    """By reason code (:data:`REFUSED_TOKEN`...)."""


class PhoneGate:
    """Admission and accounting for every browser camera; thread-safe."""

    def __init__(self, limits: PhoneLimits | None = None) -> None:
        self.limits = limits or PhoneLimits()
        self._lock = threading.Lock()
        self._attempts: OrderedDict[str, Bucket] = OrderedDict()
        self._open: dict[str, int] = {}
        self._stats: OrderedDict[str, ClientStats] = OrderedDict()
        self.open_total = 0
        self._messages = self._frames = self._malformed = self._refused = 0
        self._by_reason: dict[str, int] = {}

    def stats_for(self, client: str) -> ClientStats:
        with self._lock:
            return self._stats_locked(client)

    def _stats_locked(self, client: str) -> ClientStats:
        stats = self._stats.get(client)
        if stats is None:
            if len(self._stats) >= MAX_CLIENTS_TRACKED:
                self._stats.popitem(last=False)
            stats = self._stats[client] = ClientStats(client)
        else:
            self._stats.move_to_end(client)
        return stats

    def count(self, client: str, what: str, reason: str = "") -> None:
        """Add one to counter ``what`` of ``client`` and remember ``reason`` (refusals:
        :meth:`refuse`, which also says why in a code)."""
        if what == "refused":
            self.refuse(client, "phone", reason)
            return
        with self._lock:
            stats = self._stats_locked(client)
            setattr(stats, what, getattr(stats, what) + 1)
            if reason:
                stats.last_reason = reason
            stats.last_at = time.time()
            if what in _MESSAGES:
                self._messages += 1
            if what in _BAD_FRAMES:
                self._malformed += 1

    def refuse(self, client: str, code: str, reason: str) -> None:
        """Count a refusal of ``client``: ``code`` for the totals (:data:`REFUSED_TOKEN`...),
        ``reason`` is the text the phone is shown."""
        with self._lock:
            self._refuse(self._stats_locked(client), code, reason)

    def totals(self) -> GateTotals:
        with self._lock:
            return GateTotals(
                self._messages,
                self._frames,
                self._malformed,
                self._refused,
                dict(sorted(self._by_reason.items())),
            )

    def _take_attempt(self, address: str) -> bool:
        bucket = self._attempts.get(address)
        if bucket is None:
            if len(self._attempts) >= MAX_CLIENTS_TRACKED:
                self._attempts.popitem(last=False)
            lim = self.limits
            bucket = self._attempts[address] = Bucket(lim.attempts_burst, lim.attempts_per_s)
        else:
            self._attempts.move_to_end(address)
        return bucket.take()

    def _refuse(self, stats: ClientStats, code: str, reason: str) -> str:
        stats.refused += 1
        stats.last_reason = reason
        stats.last_at = time.time()
        self._refused += 1
        self._by_reason[code] = self._by_reason.get(code, 0) + 1
        return reason

    def attempt(self, address: str) -> str | None:
        """One request that needs no lasting connection (pairing): ``None`` allows it,
        otherwise the reason it is refused (already counted)."""
        with self._lock:
            stats = self._stats_locked(address)
            if not self._take_attempt(address):
                return self._refuse(stats, REFUSED_LIMIT, _too_many(address))
            return None

    def admit(self, address: str) -> str | None:
        """Called for each new connection; ``None`` admits it (call ``leave`` later),
        otherwise the reason it is refused (already counted)."""
        lim = self.limits
        with self._lock:
            stats = self._stats_locked(address)
            if not self._take_attempt(address):
                return self._refuse(stats, REFUSED_LIMIT, _too_many(address))
            if self._open.get(address, 0) >= lim.max_per_address:
                return self._refuse(
                    stats,
                    REFUSED_LIMIT,
                    f"too many open connections from {address} (limit {lim.max_per_address})",
                )
            if self.open_total >= lim.max_connections:
                return self._refuse(
                    stats,
                    REFUSED_LIMIT,
                    f"the hub has its maximum of {lim.max_connections} browser cameras",
                )
            self._open[address] = self._open.get(address, 0) + 1
            self.open_total += 1
            stats.connections += 1
            return None

    def add_frame(self, client: str, nbytes: int, encoding: str = "jpeg") -> None:
        with self._lock:
            stats = self._stats_locked(client)
            stats.frames += 1
            stats.bytes += nbytes
            stats.encoding = encoding
            stats.last_at = time.time()
            self._messages += 1
            self._frames += 1

    def leave(self, address: str) -> None:
        with self._lock:
            left = self._open.get(address, 0) - 1
            if left > 0:
                self._open[address] = left
            else:
                self._open.pop(address, None)
            self.open_total = max(0, self.open_total - 1)

    def clients(self) -> list[ClientStats]:
        with self._lock:
            return [ClientStats(**s.as_dict()) for s in self._stats.values()]  # type: ignore[arg-type]


def _too_many(address: str) -> str:
    return f"too many connection attempts from {address}; wait a few seconds"


class FrameRate:
    """Per-connection frame-rate policing (see the module docstring)."""

    __slots__ = ("_bucket", "_window_at", "_window_drops", "max_fps")

    def __init__(self, max_fps: float) -> None:
        self.max_fps = max_fps
        self._bucket = Bucket(max(1.0, max_fps), max_fps)
        self._window_at = time.monotonic()
        self._window_drops = 0

    def check(self) -> str:
        """``"ok"``, ``"drop"`` (over the rate) or ``"close"`` (far over it, for a second)."""
        now = time.monotonic()
        if self._bucket.take(now):
            return "ok"
        if now - self._window_at >= 1.0:
            self._window_at, self._window_drops = now, 0
        self._window_drops += 1
        return "close" if self._window_drops > self.max_fps else "drop"
