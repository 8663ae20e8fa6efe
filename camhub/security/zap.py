"""One ZeroMQ authentication (ZAP, RFC 27) handler per process, serving every secure hub.

libzmq asks the handler bound at ``inproc://zeromq.zap.01`` of the socket's context to
approve each CURVE handshake; there can be only one per context, so each
:class:`~camhub.security.curve.CurveServer` registers a policy under its own ZAP domain
and this thread routes each request to it.

Handshakes that fail before ZAP is asked (a plaintext peer, a peer holding the wrong hub
key) only show up in socket monitor events, so the same thread also watches the hub's
sockets. ZeroMQ's monitor does not name the remote address of a failed handshake; it
does give the file descriptor of each accepted connection, and the failure is always
followed by the disconnect of that descriptor, so the address is read from the
descriptor when the connection is accepted.

The thread also drives the policies' timers (authorized-key reloads). It lives as long
as the process: a CURVE socket whose ZAP handler vanished would admit anyone (sockets
also set ``ZAP_ENFORCE_DOMAIN`` where libzmq has it, so they fail closed instead).
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import socket as pysocket
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import zmq

from camhub.transport import context, monitor_event
from camhub.types import CamhubError

log = logging.getLogger("camhub.security")

ZAP_ENDPOINT = "inproc://zeromq.zap.01"
TICK_MS = 200
MONITOR_EVENTS = (
    zmq.EVENT_ACCEPTED
    | zmq.EVENT_DISCONNECTED
    | zmq.EVENT_CLOSED
    | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_MONITOR_STOPPED
)
_ids = itertools.count(1)
T = TypeVar("T")


class ZapPolicy(Protocol):
    """What a secure hub tells the handler. Called on the handler's thread."""

    def authenticate(self, address: str, mechanism: bytes, credentials: list[bytes]) -> str | None:
        """The user id to attach to the connection, or None to refuse it."""
        ...

    def handshake_failed(self, address: str | None, event: int, value: int) -> None: ...

    def tick(self) -> None: ...


def peer_of_fd(fd: int, endpoint: bytes = b"") -> str | None:
    """The remote IP address of a connection libzmq accepted on ``endpoint``.

    Read through a duplicate so libzmq's descriptor is never touched. None when the
    descriptor is already closed, or now belongs to something that is not a connection
    on that endpoint's port (the number was reused)."""
    try:
        dup = os.dup(fd)
    except OSError:
        return None
    try:
        sock = pysocket.socket(fileno=dup)
    except OSError:
        os.close(dup)
        return None
    try:
        name = sock.getpeername()
        local = sock.getsockname()
    except OSError:
        return None
    finally:
        sock.close()
    if isinstance(name, tuple):
        port = endpoint.rpartition(b":")[2]
        if endpoint.startswith(b"tcp://") and port.isdigit() and int(port) != local[1]:
            return None
        return str(name[0])
    return str(name) or None


@dataclass(slots=True)
class _Watched:
    """Monitor state of one hub socket."""

    policy: ZapPolicy
    pair: zmq.Socket[bytes]
    fds: dict[int, str | None] = field(default_factory=dict)
    failure: tuple[int, int] | None = None

    def drain(self) -> bool:
        """Handle queued events; False once the watched socket has closed."""
        while True:
            try:
                msg = self.pair.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return True
            kind, value, endpoint = monitor_event(msg)
            if kind == zmq.EVENT_MONITOR_STOPPED:
                return False
            if kind == zmq.EVENT_ACCEPTED:
                if len(self.fds) > 65536:  # disconnect events lost: do not grow forever
                    self.fds.clear()
                self.fds[value] = peer_of_fd(value, endpoint)
            elif kind in (
                zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL,
                zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL,
            ):
                if self.failure is not None:  # never saw its disconnect; report it anyway
                    self.policy.handshake_failed(None, *self.failure)
                self.failure = (kind, value)
            elif kind in (zmq.EVENT_DISCONNECTED, zmq.EVENT_CLOSED):
                address = self.fds.pop(value, None)
                if self.failure is not None:
                    self.policy.handshake_failed(address, *self.failure)
                    self.failure = None


class ZapHandler:
    """The per-context handler thread. Get it with :func:`zap_handler`."""

    def __init__(self, ctx: zmq.Context[zmq.Socket[bytes]]) -> None:
        self.ctx = ctx
        self._policies: weakref.WeakValueDictionary[bytes, ZapPolicy] = (
            weakref.WeakValueDictionary()
        )
        self._new: queue.SimpleQueue[tuple[zmq.Socket[bytes], ZapPolicy]] = queue.SimpleQueue()
        self._zap = ctx.socket(zmq.REP)
        self._zap.setsockopt(zmq.LINGER, 0)
        try:
            self._zap.bind(ZAP_ENDPOINT)
        except zmq.ZMQError as exc:
            self._zap.close()
            raise CamhubError(
                "cannot start camhub's ZeroMQ authenticator: another ZAP handler already "
                f"runs in this process ({exc}); camhub's secure mode needs to own it"
            ) from None
        self._thread = threading.Thread(target=self._run, name="camhub-zap", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def register(self, policy: ZapPolicy) -> bytes:
        """Give ``policy`` a fresh ZAP domain and return it (set it on the socket)."""
        domain = f"camhub-{next(_ids)}".encode()
        self._policies[domain] = policy
        return domain

    def watch(self, sock: zmq.Socket[bytes], policy: ZapPolicy) -> None:
        """Report ``sock``'s failed handshakes to ``policy``. Call from ``sock``'s thread."""
        address = f"inproc://camhub-zapmon-{next(_ids)}"
        sock.monitor(address, MONITOR_EVENTS)
        # Connected here, before the socket binds, so no event is lost; the thread takes
        # it over (ZeroMQ allows moving a socket to another thread across a queue).
        pair = self.ctx.socket(zmq.PAIR)
        pair.setsockopt(zmq.LINGER, 0)
        pair.connect(address)
        self._new.put((pair, policy))

    # -- the thread ---------------------------------------------------------------

    def _run(self) -> None:
        poller = zmq.Poller()
        poller.register(self._zap, zmq.POLLIN)
        watched: dict[zmq.Socket[bytes], _Watched] = {}
        try:
            while True:
                while not self._new.empty():
                    pair, policy = self._new.get()
                    watched[pair] = _Watched(policy, pair)
                    poller.register(pair, zmq.POLLIN)
                try:
                    ready = dict(poller.poll(TICK_MS))
                except zmq.ContextTerminated:
                    return
                if self._zap in ready:
                    self._answer_all()
                for pair, state in list(watched.items()):
                    if pair in ready and not self._guard(state.drain, default=True):
                        poller.unregister(pair)
                        pair.close()
                        del watched[pair]
                for policy in list(self._policies.values()):
                    self._guard(policy.tick, default=None)
        finally:
            for pair in watched:
                pair.close()
            self._zap.close()

    @staticmethod
    def _guard(func: Callable[[], T], default: T) -> T:
        try:
            return func()
        except zmq.ContextTerminated:
            raise
        except Exception:  # a bug here must not stop authentication for everyone
            log.exception("camhub authenticator: unexpected error")
            return default

    def _answer_all(self) -> None:
        for _ in range(64):
            try:
                request = self._zap.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            self._zap.send_multipart(self._answer(request))

    def _answer(self, request: list[bytes]) -> list[bytes]:
        if len(request) < 6 or request[0] != b"1.0":
            rid = request[1] if len(request) > 1 else b""
            return [b"1.0", rid, b"500", b"malformed ZAP request", b"", b""]
        _version, rid, domain, address, _identity, mechanism, *credentials = request
        policy = self._policies.get(domain)
        if policy is None:
            log.warning("authenticator: refusing a handshake for unknown ZAP domain %r", domain)
            return [b"1.0", rid, b"400", b"unknown domain", b"", b""]
        try:
            user = policy.authenticate(address.decode(errors="replace"), mechanism, credentials)
        except Exception:
            log.exception("camhub authenticator: policy failed; refusing the handshake")
            user = None
        if user is None:
            return [b"1.0", rid, b"400", b"not authorized", b"", b""]
        return [b"1.0", rid, b"200", b"OK", user.encode(), b""]


_lock = threading.Lock()
_handler: ZapHandler | None = None


def zap_handler() -> ZapHandler:
    """The running handler for camhub's context, started on first use."""
    global _handler
    with _lock:
        ctx = context()
        if _handler is None or _handler.ctx is not ctx or not _handler.alive:
            _handler = ZapHandler(ctx)
        return _handler
