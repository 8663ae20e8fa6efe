"""ZeroMQ CURVE for camhub sockets: encryption plus an allow-list of sender keys.

:class:`CurveServer` goes on the hub, :class:`CurveClient` on senders; both implement
:class:`~camhub.transport.SocketSecurity`. The CURVE role follows who holds the
allow-list, not who binds: a hub that connects to publishing senders is still the
CURVE server.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

import zmq
import zmq.utils.z85

from camhub.security.authorized import AuthorizedKeys, Sources
from camhub.security.keys import KeyFileError, KeyPath, loose_permissions, read_key_file
from camhub.security.refusals import (
    BAD_HANDSHAKE,
    PLAINTEXT,
    REVOKED_KEY,
    UNKNOWN_KEY,
    WRONG_HUB_KEY,
    RefusalLog,
    SecurityStats,
)
from camhub.security.zap import ZapHandler, zap_handler
from camhub.transport import peer_address
from camhub.types import CamhubError

log = logging.getLogger("camhub.security")


def _protocol_error_name(value: int) -> str:
    for name in dir(zmq):
        if name.startswith("PROTOCOL_ERROR_") and getattr(zmq, name) == value:
            return name[len("PROTOCOL_ERROR_") :]
    return hex(value)


def _failed_handshake(event: int, value: int) -> tuple[str, str]:
    """(reason, explanation) for a handshake that failed before ZAP was asked."""
    if event != zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL:
        return BAD_HANDSHAKE, f"the connection failed during the handshake (error {value})"
    if value == zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
        return PLAINTEXT, "it does not use CURVE encryption (a sender without --hub-key/--key?)"
    if value == zmq.PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC:
        return WRONG_HUB_KEY, (
            "its CURVE handshake does not decrypt with this hub's key "
            "(the sender has the wrong --hub-key)"
        )
    return BAD_HANDSHAKE, f"handshake protocol error {_protocol_error_name(value)}"


class CurveServer:
    """Hub side: encrypts, and admits only senders whose public key is authorized.

    ``authorized_keys`` is a folder of ``*.key`` files, a key file, a Z85 key, or a list
    of those. Folders are re-read when their files change (checked every
    ``reload_interval`` seconds; ``None`` turns the timer off), on :meth:`reload` and on
    SIGHUP once :func:`reload_on_sighup` is installed. A key removed from the list is
    refused at the next handshake, and frames still arriving over a connection made
    with it are refused too.
    """

    def __init__(
        self,
        secret_key_file: KeyPath,
        authorized_keys: Sources,
        *,
        reload_interval: float | None = 2.0,
        log_every: float = 60.0,
    ) -> None:
        self._key = read_key_file(secret_key_file, need_secret=True)
        warning = loose_permissions(secret_key_file)
        if warning:
            log.warning("%s", warning)
        self.authorized = AuthorizedKeys(authorized_keys)
        self.reload_interval = reload_interval
        self._refusals = RefusalLog(log_every=log_every)
        self._accepted = 0
        self._names_seen: dict[str, str] = {}
        self._reload_requested = threading.Event()
        self._reload_lock = threading.Lock()
        self._next_check = time.monotonic() + (reload_interval or 0.0)
        self._last_reload = time.time()
        self._handler: ZapHandler | None = None
        self._domain = b""
        if len(self.authorized) == 0:
            log.warning(
                "no authorized sender keys yet: every sender is refused until its .key file "
                "is added to %s",
                ", ".join(map(str, self.authorized.folders)) or "the authorized keys",
            )

    @property
    def public_key(self) -> bytes:
        """The hub's public key (Z85); senders need it as ``--hub-key``."""
        return self._key.public

    def __repr__(self) -> str:
        return f"CurveServer(key={self._key.path}, authorized={len(self.authorized)} keys)"

    # -- SocketSecurity -----------------------------------------------------------

    def apply(self, socket: zmq.Socket[bytes], *, server: bool) -> None:
        handler = zap_handler()
        if handler is not self._handler:
            self._handler, self._domain = handler, handler.register(self)
        assert self._key.secret is not None
        socket.setsockopt(zmq.CURVE_SERVER, 1)
        socket.setsockopt(zmq.CURVE_SECRETKEY, self._key.secret)
        socket.setsockopt(zmq.CURVE_PUBLICKEY, self._key.public)
        socket.setsockopt(zmq.ZAP_DOMAIN, self._domain)
        try:
            # Without a ZAP handler libzmq would admit every key; make it refuse instead.
            socket.setsockopt(zmq.ZAP_ENFORCE_DOMAIN, 1)
        except (zmq.ZMQError, AttributeError):
            pass  # older libzmq: the handler thread lives as long as the process anyway
        handler.watch(socket, self)

    # -- PeerGate: checked by the hub for every message -----------------------------

    def admits(self, frame: zmq.Frame) -> bool:
        """Whether a received message's connection still holds an authorized key."""
        try:
            user = frame.get("User-Id")
        except zmq.ZMQError:
            user = None
        if isinstance(user, str) and user in self.authorized:
            return True
        address = peer_address(frame)
        name = self._names_seen.get(user, "?") if isinstance(user, str) else "?"
        self._refusals.add(
            address,
            REVOKED_KEY,
            f"refusing frames from {address}: key {name!r} is no longer authorized "
            "(revoked); its connection stays open but every frame gets an error reply",
        )
        return False

    # -- ZapPolicy: called on the authenticator thread --------------------------------

    def authenticate(self, address: str, mechanism: bytes, credentials: list[bytes]) -> str | None:
        if mechanism != b"CURVE" or not credentials or len(credentials[0]) != 32:
            self._refusals.add(
                address,
                PLAINTEXT,
                f"refused {address}: it asked for {mechanism.decode(errors='replace')} "
                "instead of CURVE",
            )
            return None
        key = zmq.utils.z85.encode(credentials[0]).decode()
        name = self.authorized.name_of(key)
        if name is None:
            where = ", ".join(map(str, self.authorized.folders)) or "the authorized keys"
            self._refusals.add(
                address,
                UNKNOWN_KEY,
                f"refused sender at {address}: its CURVE public key {key} is not authorized "
                f"(to allow it, copy its .key file into {where})",
            )
            return None
        self._accepted += 1
        if len(self._names_seen) > 4096:
            self._names_seen.clear()
        self._names_seen[key] = name
        log.info("sender key %r authenticated from %s", name, address)
        return key

    def handshake_failed(self, address: str | None, event: int, value: int) -> None:
        reason, detail = _failed_handshake(event, value)
        who = address or "an unknown address (ZeroMQ did not report it)"
        self._refusals.add(address, reason, f"refused connection from {who}: {detail}")

    def tick(self) -> None:
        if self._reload_requested.is_set():
            self._reload_requested.clear()
            self.reload("reload requested")
            return
        if self.reload_interval is None:
            return
        now = time.monotonic()
        if now >= self._next_check:
            self._next_check = now + self.reload_interval
            if self.authorized.changed():
                self.reload("key files changed")

    # -- management -----------------------------------------------------------------

    def reload(self, why: str = "reload requested") -> None:
        """Re-read the authorized keys now (any thread)."""
        with self._reload_lock:
            added, removed = self.authorized.reload()
            self._last_reload = time.time()
        changes = "; ".join(
            part
            for part in (
                f"added {', '.join(added)}" if added else "",
                f"revoked {', '.join(removed)}" if removed else "",
            )
            if part
        )
        log.info(
            "authorized keys reloaded (%s): %d keys%s",
            why,
            len(self.authorized),
            f"; {changes}" if changes else ", no change",
        )

    def request_reload(self) -> None:
        """Ask for a reload on the authenticator thread (safe from a signal handler)."""
        self._reload_requested.set()

    @property
    def refusals(self) -> int:
        """Refused handshakes plus frames refused from revoked keys."""
        return self._refusals.total

    def stats(self) -> SecurityStats:
        total, by_reason, by_address = self._refusals.snapshot()
        return SecurityStats(
            authorized_keys=len(self.authorized),
            accepted=self._accepted,
            refusals=total,
            by_reason=by_reason,
            by_address=by_address,
            reloads=self.authorized.reloads,
            last_reload=self._last_reload,
        )


class CurveClient:
    """Sender side: encrypts, proves this sender's key, and checks the hub's key."""

    def __init__(self, server_public_key_file: KeyPath, client_keypair_file: KeyPath) -> None:
        hub = read_key_file(server_public_key_file)
        if hub.secret is not None:
            log.warning(
                "%s is the hub's SECRET key file; a sender only needs the public %s.key "
                "(keep the secret file on the hub)",
                server_public_key_file,
                hub.name,
            )
        me = read_key_file(client_keypair_file, need_secret=True)
        if me.public == hub.public:
            raise KeyFileError(
                f"{client_keypair_file} is the hub's own key pair; create a key for this "
                "sender with: camhub keys new NAME"
            )
        warning = loose_permissions(client_keypair_file)
        if warning:
            log.warning("%s", warning)
        self._hub = hub
        self._me = me

    @property
    def public_key(self) -> bytes:
        """This sender's public key (Z85), the one the hub must authorize."""
        return self._me.public

    @property
    def name(self) -> str:
        return self._me.name

    def __repr__(self) -> str:
        return f"CurveClient(hub_key={self._hub.path}, key={self._me.path})"

    def apply(self, socket: zmq.Socket[bytes], *, server: bool) -> None:
        assert self._me.secret is not None
        socket.setsockopt(zmq.CURVE_SERVERKEY, self._hub.public)
        socket.setsockopt(zmq.CURVE_PUBLICKEY, self._me.public)
        socket.setsockopt(zmq.CURVE_SECRETKEY, self._me.secret)


def reload_on_sighup(*servers: CurveServer) -> Callable[[], None]:
    """Reload the servers' authorized keys whenever the process receives SIGHUP.

    Call from the main thread. Chains to a previously installed Python handler. Returns
    a function that restores the previous handler.
    """
    sig = getattr(signal, "SIGHUP", None)
    if sig is None:
        raise CamhubError("SIGHUP does not exist on this platform; keys reload on a timer")
    previous = signal.getsignal(sig)

    def on_sighup(signum: int, frame: FrameType | None) -> None:
        for server in servers:
            server.request_reload()
        if callable(previous):
            previous(signum, frame)

    signal.signal(sig, on_sighup)

    def restore() -> None:
        signal.signal(sig, previous)

    return restore
