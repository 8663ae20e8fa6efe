"""Telling a sender *why* it cannot reach its hub.

With CURVE, a refused handshake looks like silence: the socket simply never becomes
writable. libzmq does report it through socket monitor events, and which event says
what (libzmq 4.3, as bundled with pyzmq):

==================================  ===============================================
sender sees                          cause
==================================  ===============================================
HANDSHAKE_FAILED_AUTH (status 400)  the hub does not know this sender's key
HANDSHAKE_FAILED_PROTOCOL,          one side uses CURVE, the other does not
  ZMTP_MECHANISM_MISMATCH
HANDSHAKE_FAILED_NO_DETAIL          the hub hung up mid-handshake: with CURVE, the
                                    sender holds the wrong hub public key; without,
                                    the hub saw the mismatch first
==================================  ===============================================

After an AUTH or PROTOCOL failure libzmq does not reconnect by itself, so the sender
must open a fresh socket to try again (after the key was added, say).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import zmq

from camhub.security.probe import Probe
from camhub.transport import context, monitor_event, readable
from camhub.types import SendTimeout

WATCHED_EVENTS = (
    zmq.EVENT_HANDSHAKE_SUCCEEDED
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
)
_ids = itertools.count(1)


class HubRefused(SendTimeout):
    """The hub refused this sender's connection: wrong or unknown keys, or a security
    mode mismatch. The message says which and what to do."""


@dataclass(frozen=True, slots=True)
class HandshakeFailure:
    event: int
    value: int
    curve: bool
    """Whether this sender used CURVE."""

    def explain(self, found: Probe | None = None) -> str:
        """Why the hub refused us and what to do; ``found`` is what answered at the
        address (see :mod:`camhub.security.probe`), which tells a port proxy with no hub
        behind it from a hub that hung up mid-handshake."""
        if self.event == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
            return (
                f"hub refused our key (authentication status {self.value}): copy this "
                "sender's public .key file into the hub's authorized keys folder"
            )
        if self.event == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL:
            if self.value == zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
                if self.curve:
                    return (
                        "hub does not use CURVE encryption but this sender does: start the "
                        "hub in secure mode (--secret-key, --authorized-keys) or drop --key"
                    )
                return (
                    "hub requires CURVE encryption: give this sender --hub-key HUB.key and "
                    "--key NAME.key_secret"
                )
            if self.value == zmq.PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC:
                return "hub's handshake does not decrypt: check --hub-key is that hub's key"
            return f"handshake with the hub failed (ZeroMQ protocol error {self.value:#x})"
        # The handshake ended before it began: a port proxy with nothing behind it, or a
        # hub that hung up on a security mismatch.
        if found is not None and found.kind != "zmtp":
            return "did not complete the ZeroMQ handshake: " + found.reason()
        mechanism = found.detail if found is not None else ""
        if self.curve and mechanism == "NULL":
            return (
                "hub does not use CURVE encryption but this sender does: start the hub in "
                "secure mode (--secret-key, --authorized-keys) or drop --key"
            )
        if not self.curve and mechanism == "CURVE":
            return (
                "hub requires CURVE encryption: give this sender --hub-key HUB.key and "
                "--key NAME.key_secret"
            )
        # A security mismatch is by far the likeliest cause.
        if self.curve:
            return (
                "hub refused our CURVE handshake: this sender probably has the wrong hub "
                "key (--hub-key must be the hub's public .key file), or the hub runs "
                "without encryption"
            )
        return (
            "hub hung up during the handshake: it probably requires CURVE encryption (give "
            "this sender --hub-key HUB.key and --key NAME.key_secret)"
        )


class HandshakeWatch:
    """Watches one socket's handshakes through a monitor. Used from the socket's thread."""

    def __init__(self, sock: zmq.Socket[bytes]) -> None:
        self._curve = sock.getsockopt(zmq.MECHANISM) == zmq.CURVE
        address = f"inproc://camhub-handshake-{next(_ids)}"
        sock.monitor(address, WATCHED_EVENTS | zmq.EVENT_DISCONNECTED)
        self._pair: zmq.Socket[bytes] | None = context().socket(zmq.PAIR)
        self._pair.setsockopt(zmq.LINGER, 0)
        self._pair.connect(address)
        self._sock = sock
        self.failure: HandshakeFailure | None = None
        """The last handshake failure, cleared by a later successful handshake."""
        self.handshakes = 0
        """Connections made so far: libzmq reconnects by itself, perhaps to another hub."""
        self.disconnects = 0
        """Connections lost so far. libzmq reports a loss at once and reconnects no sooner
        than RECONNECT_IVL later, so a sender that looks here before each send learns of a
        possible change of hub before any frame can reach the next one."""

    def _read_events(self) -> None:
        if self._pair is None:
            return
        while True:
            try:
                msg = self._pair.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            kind, value, _endpoint = monitor_event(msg)
            if kind == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self.failure = None
                self.handshakes += 1
            elif kind == zmq.EVENT_DISCONNECTED:
                self.disconnects += 1
            elif kind & WATCHED_EVENTS:
                self.failure = HandshakeFailure(kind, value, self._curve)

    def poll(self) -> int:
        """Take the events that arrived (without waiting); returns how many times the
        connection changed so far (:attr:`handshakes` plus :attr:`disconnects`)."""
        if self._pair is not None and readable(self._pair):
            self._read_events()
        return self.handshakes + self.disconnects

    def wait_writable(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the socket to accept a message. Returns False at
        once when a handshake fails meanwhile (see :attr:`failure`)."""
        sock = self._sock
        events = sock.getsockopt(zmq.EVENTS)
        if isinstance(events, int) and events & zmq.POLLOUT:
            return True
        if self._pair is None:
            return bool(sock.poll(int(timeout * 1000), zmq.POLLOUT))
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLOUT)
        poller.register(self._pair, zmq.POLLIN)
        deadline = time.monotonic() + timeout
        self._read_events()
        while self.failure is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            ready = dict(poller.poll(max(1, int(remaining * 1000))))
            if ready.get(sock, 0) & zmq.POLLOUT:
                return True
            self._read_events()
        return False

    def close(self) -> None:
        """Stop monitoring; call before closing the socket."""
        if self._pair is not None:
            try:
                self._sock.disable_monitor()
            except zmq.ZMQError:
                pass
            self._pair.close(linger=0)
            self._pair = None
