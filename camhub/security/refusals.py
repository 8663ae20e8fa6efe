"""Counting and logging refused peers without letting a peer flood the log.

Every refusal is counted (total, per reason, per address). The first refusal of each
(address, reason) is logged at once; repeats are summed up at most once per
``log_every`` seconds, so a sender retrying every second cannot fill the disk.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

log = logging.getLogger("camhub.security")

UNKNOWN_KEY = "unknown_key"
"""The sender's CURVE key is not in the hub's authorized keys."""
REVOKED_KEY = "revoked_key"
"""A frame arrived over a connection whose key has been removed since it connected."""
WRONG_HUB_KEY = "wrong_hub_key"
"""The handshake could not be decrypted: the sender holds a different hub public key."""
PLAINTEXT = "plaintext"
"""The peer did not speak CURVE (a sender without keys, or not camhub at all)."""
BAD_HANDSHAKE = "bad_handshake"
"""Any other failed or aborted handshake."""

UNKNOWN_ADDRESS = "unknown"


@dataclass(frozen=True, slots=True)
class SecurityStats:
    """A snapshot of a secure hub's admission counters."""

    authorized_keys: int
    accepted: int
    """Handshakes accepted (each sender connection counts once)."""
    refusals: int
    """Refused handshakes plus frames refused from revoked keys."""
    by_reason: dict[str, int] = field(default_factory=dict)
    by_address: dict[str, int] = field(default_factory=dict)
    reloads: int = 0
    last_reload: float | None = None


class RefusalLog:
    """Thread-safe refusal counters with rate-limited logging."""

    def __init__(self, *, log_every: float = 60.0, max_addresses: int = 1024) -> None:
        self.log_every = log_every
        self.max_addresses = max_addresses
        self._lock = threading.Lock()
        self.total = 0
        self.by_reason: dict[str, int] = {}
        self.by_address: OrderedDict[str, int] = OrderedDict()
        self._last_logged: dict[tuple[str, str], tuple[float, int]] = {}

    def add(self, address: str | None, reason: str, message: str) -> None:
        """Count one refusal; ``message`` is the log text (it should name the address)."""
        addr = address or UNKNOWN_ADDRESS
        now = time.monotonic()
        with self._lock:
            self.total += 1
            self.by_reason[reason] = self.by_reason.get(reason, 0) + 1
            self.by_address[addr] = self.by_address.get(addr, 0) + 1
            self.by_address.move_to_end(addr)
            while len(self.by_address) > self.max_addresses:
                self.by_address.popitem(last=False)
            key = (addr, reason)
            last = self._last_logged.get(key)
            if last is not None and now - last[0] < self.log_every:
                self._last_logged[key] = (last[0], last[1] + 1)
                return
            repeats = 0 if last is None else last[1]
            if len(self._last_logged) > 4 * self.max_addresses:
                self._last_logged.clear()
            self._last_logged[key] = (now, 0)
        more = f" ({repeats} more like this in the last {self.log_every:.0f} s)" if repeats else ""
        log.warning("%s%s", message, more)

    def snapshot(self) -> tuple[int, dict[str, int], dict[str, int]]:
        with self._lock:
            return self.total, dict(self.by_reason), dict(self.by_address)
