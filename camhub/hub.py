"""The hub: one receive thread serves every sender and keeps the latest frame per camera.

Senders reach it three ways, all at once if wanted:

* request/reply on a ROUTER socket (``bind``): camhub :class:`~camhub.sender.Sender`
  and imagezmq ``ImageSender`` alike. Every message is answered at once, before any
  consumer looks at it, so a slow consumer never slows a sender and a dead sender
  never blocks the others;
* PUB/SUB with the senders binding (``subscribe_to``, imagezmq's topology);
* PUB/SUB with the hub binding (``sub_bind``), for senders behind NAT.

Consumers (dashboard, display, processors) read per-camera state through the
:class:`~camhub.types.FrameStore` methods or iterate :meth:`Hub.frames`; they always get
the newest frame and the frames they skipped are counted.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

import zmq

from camhub import protocol
from camhub.camera_state import CameraState, PeerStats
from camhub.protocol import DEFAULT_LIMITS, Limits, ProtocolError
from camhub.transport import (
    PeerGate,
    SocketSecurity,
    check_endpoint,
    new_socket,
    peer_address,
    readable,
    recv_parts,
    send_parts,
)
from camhub.types import ArgumentError, CameraName, CameraStats, Frame, HubEvent, ReceiveTimeout

if TYPE_CHECKING:
    from camhub.processing import ProcessorRunner
    from camhub.processing.runner import ProcessorSpec

log = logging.getLogger("camhub.hub")

_POLLIN = int(zmq.POLLIN)
_BURST = 256
"""Messages drained from one socket before looking at the others (fairness)."""


Listener = Callable[[HubEvent], None]


def _as_list(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


class Hub:
    """Receives frames from any number of senders; see the module docstring."""

    def __init__(
        self,
        bind: str | Sequence[str] | None = "tcp://*:5555",
        *,
        subscribe_to: str | Sequence[str] | None = None,
        sub_bind: str | Sequence[str] | None = None,
        reply: bytes = protocol.DEFAULT_REPLY,
        limits: Limits = DEFAULT_LIMITS,
        offline_after: float = 5.0,
        security: SocketSecurity | None = None,
    ) -> None:
        self.reply = reply
        self.limits = limits
        self.offline_after = offline_after
        self._security = security
        self._gate = security if isinstance(security, PeerGate) else None
        self._cond = threading.Condition()
        self._cameras: dict[CameraName, CameraState] = {}
        self._peers: dict[str, PeerStats] = {}
        self._listeners: list[Listener] = []
        self.processors: list[ProcessorRunner] = []
        self._commands: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.malformed = 0
        self.messages = 0
        self.endpoints: list[str] = []
        """Addresses actually bound (ports resolved), in the order given."""
        self._router: zmq.Socket[bytes] | None = None
        self._sub: zmq.Socket[bytes] | None = None
        self._bind_sockets(_as_list(bind), _as_list(sub_bind), _as_list(subscribe_to))

    # -- set-up ---------------------------------------------------------------------

    def _new(self, kind: int, *, server: bool) -> zmq.Socket[bytes]:
        sock = new_socket(
            kind,
            hwm=1000 if kind == zmq.ROUTER else 8,
            max_msg_size=self.limits.max_payload + self.limits.max_header + 1024,
            security=self._security,
            server=server,
        )
        return sock

    def _bind_sockets(
        self, binds: list[str], sub_binds: list[str], sub_connects: list[str]
    ) -> None:
        # Bind in the caller's thread so "address in use" surfaces here, not in a log.
        try:
            if binds:
                self._router = self._new(zmq.ROUTER, server=True)
                for addr in binds:
                    self._router.bind(check_endpoint(addr, what="hub bind address", bind=True))
                    self.endpoints.append(self._router.getsockopt_string(zmq.LAST_ENDPOINT))
            if sub_binds or sub_connects:
                self._sub = self._new(zmq.SUB, server=bool(sub_binds))
                self._sub.setsockopt(zmq.SUBSCRIBE, b"")
                for addr in sub_binds:
                    self._sub.bind(check_endpoint(addr, what="hub SUB bind address", bind=True))
                    self.endpoints.append(self._sub.getsockopt_string(zmq.LAST_ENDPOINT))
                for addr in sub_connects:
                    self._sub.connect(check_endpoint(addr, what="sender PUB address"))
        except zmq.ZMQError as exc:
            self._close_sockets()
            from camhub.transport import AddressError

            raise AddressError(f"hub cannot listen: {exc}") from None

    @property
    def security(self) -> SocketSecurity | None:
        """The security the hub's sockets use (``CurveServer.stats()`` has refusals)."""
        return self._security

    @property
    def endpoint(self) -> str:
        """The first bound address, with the port resolved (handy with port 0)."""
        return self.endpoints[0]

    def connect(self, address: str) -> None:
        """Also subscribe to a PUB sender at ``address`` (imagezmq's ``hub.connect``)."""
        check_endpoint(address, what="sender PUB address")
        if self._sub is None:
            self._sub = self._new(zmq.SUB, server=False)
            self._sub.setsockopt(zmq.SUBSCRIBE, b"")
            if self._thread is not None:
                raise ArgumentError("start the hub with subscribe_to=... to use PUB/SUB")
        if self._thread is None:
            self._sub.connect(address)
        else:
            self._commands.put(address)

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(event)`` on camera and error events (from the receive thread:
        keep it quick)."""
        self._listeners.append(listener)

    @property
    def running(self) -> bool:
        """Whether the receive thread is alive (for health checks)."""
        return self._thread is not None and self._thread.is_alive()

    def add_processor(
        self,
        processor: ProcessorSpec,
        cameras: Iterable[CameraName] | None = None,
        **options: object,
    ) -> ProcessorRunner:
        """Run ``processor`` (a function, a Processor class or a registered name such as
        ``"motion"``) on every camera's newest frames, off the receive path; it stops with
        the hub. See :mod:`camhub.processing`."""
        from camhub.processing import ProcessorRunner

        runner = ProcessorRunner(self, processor, cameras=cameras, options=options).start()
        self.processors.append(runner)
        return runner

    def start(self) -> Hub:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="camhub-hub", daemon=True)
            self._thread.start()
            log.info("hub listening on %s", ", ".join(self.endpoints) or "(PUB/SUB only)")
        return self

    def stop(self) -> None:
        for runner in self.processors:
            runner.stop()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._cond:
            self._cond.notify_all()
        self._close_sockets()

    close = stop

    def _close_sockets(self) -> None:
        for sock in (self._router, self._sub):
            if sock is not None:
                sock.close(linger=0)
        self._router = self._sub = None

    def __enter__(self) -> Hub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- receive thread ---------------------------------------------------------------

    def _run(self) -> None:
        socks = [sock for sock in (self._router, self._sub) if sock is not None]
        if len(socks) == 1:
            self._run_one(socks[0], routed=socks[0] is self._router)
        else:
            self._run_many()

    def _run_one(self, sock: zmq.Socket[bytes], *, routed: bool) -> None:
        # One socket (the usual case): a blocking receive with a timeout, like imagezmq's
        # loop. Polling first would cost a system call or two for every large frame.
        sock.setsockopt(zmq.RCVTIMEO, 100)
        next_check = time.monotonic()
        while not self._stop.is_set():
            while not routed and not self._commands.empty():
                sock.connect(self._commands.get())
            try:
                parts = recv_parts(sock, wait=True)
            except zmq.Again:
                parts = None
            except zmq.ZMQError:  # socket closed under us during shutdown
                break
            if parts is not None:
                self._dispatch(sock, parts, routed=routed)
            now = time.monotonic()
            if now >= next_check:
                self._check_offline()
                next_check = now + 0.25

    def _run_many(self) -> None:
        # zmq.zmq_poll on a prebuilt list: zmq.Poller costs several microseconds a call.
        polled = [(sock, _POLLIN) for sock in (self._router, self._sub) if sock is not None]
        next_check = time.monotonic()
        while not self._stop.is_set():
            while not self._commands.empty() and self._sub is not None:
                self._sub.connect(self._commands.get())
            try:
                ready = [sock for sock, _events in zmq.zmq_poll(polled, 100)]
            except zmq.ZMQError:  # socket closed under us during shutdown
                break
            if self._router is not None and self._router in ready:
                self._drain(self._router, routed=True)
            if self._sub is not None and self._sub in ready:
                self._drain(self._sub, routed=False)
            now = time.monotonic()
            if now >= next_check:
                self._check_offline()
                next_check = now + 0.25

    def _drain(self, sock: zmq.Socket[bytes], *, routed: bool) -> None:
        # Called when the poll said readable; ask again before each further receive,
        # which is cheaper than catching zmq.Again at the end of every burst.
        for _ in range(_BURST):
            try:
                parts = recv_parts(sock)
            except zmq.Again:
                return
            self._dispatch(sock, parts, routed=routed)
            if not readable(sock):
                return

    def _dispatch(self, sock: zmq.Socket[bytes], parts: list[zmq.Frame], *, routed: bool) -> None:
        if routed:
            self._handle_routed(sock, parts)
        elif self._gate is None or self._gate.admits(parts[0]):
            self._handle(parts, peer_address(parts[0]) or "pub")

    def _handle_routed(self, sock: zmq.Socket[bytes], parts: list[zmq.Frame]) -> None:
        # REQ and camhub DEALER peers put an empty delimiter after the routing id.
        split = 2 if len(parts) > 2 and len(parts[1]) == 0 else 1
        envelope, body = parts[:split], parts[split:]
        peer = peer_address(parts[0]) or parts[0].bytes.hex()
        if self._gate is not None and not self._gate.admits(parts[0]):
            answer = protocol.error_reply("this sender's key is no longer authorized")
        else:
            answer = self._handle(body, peer)
        try:
            send_parts(sock, [*envelope, answer])
        except zmq.ZMQError:
            pass  # the peer went away; ROUTER drops unroutable replies

    def _handle(self, body: Sequence[zmq.Frame], peer: str) -> bytes:
        self.messages += 1
        stats = self._peer(peer)
        stats.messages += 1
        try:
            frame = protocol.decode([f.buffer for f in body], self.limits)
        except ProtocolError as exc:
            return self._malformed(peer, stats, str(exc))
        except Exception as exc:  # a decoder bug must not kill the receive thread
            return self._malformed(peer, stats, f"undecodable message ({exc!r:.100})")
        self._store(frame, peer)
        return self.reply

    def _peer(self, peer: str) -> PeerStats:
        stats = self._peers.get(peer)
        if stats is None:
            if len(self._peers) >= 4096:  # bound memory under address churn
                self._peers.pop(next(iter(self._peers)))
            stats = self._peers[peer] = PeerStats(peer)
        return stats

    def _malformed(self, peer: str, stats: PeerStats, reason: str) -> bytes:
        self.malformed += 1
        stats.malformed += 1
        now = time.time()
        if now - stats.last_logged >= 10.0:
            more = f" ({stats.malformed} so far from this peer)" if stats.malformed > 1 else ""
            log.warning("malformed message from %s: %s%s", peer, reason, more)
            stats.last_logged = now
        self._emit(HubEvent("malformed", None, now, f"{peer}: {reason}"))
        return protocol.error_reply(reason)

    def _store(self, frame: Frame, peer: str) -> None:
        with self._cond:
            state = self._cameras.get(frame.name)
            new = state is None
            if state is None:
                state = self._cameras[frame.name] = CameraState(frame.name)
            came_back = state.update(frame, peer)
            self._cond.notify_all()
        if new:
            log.info("camera %s connected from %s", frame.name, peer)
            self._emit(HubEvent("camera_new", frame.name, frame.received_at, peer))
        elif came_back is not None:
            log.info("camera %s back online after %.1f s", frame.name, came_back)
            self._emit(HubEvent("camera_online", frame.name, frame.received_at, peer))

    def _check_offline(self) -> None:
        now = time.time()
        gone: list[CameraState] = []
        with self._cond:
            for state in self._cameras.values():
                if state.online and now - state.last_seen > self.offline_after:
                    state.online = False
                    gone.append(state)
        for state in gone:
            since = time.strftime("%H:%M:%S", time.localtime(state.last_seen))
            log.warning(
                "camera %s offline since %s (no frames for %.0f s)",
                state.name,
                since,
                self.offline_after,
            )
            self._emit(HubEvent("camera_offline", state.name, now, f"last frame at {since}"))

    def _emit(self, event: HubEvent) -> None:
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:  # a consumer's bug must not stop ingest
                log.exception("hub event listener failed on %s", event.kind)

    # -- consumer side (FrameStore) ---------------------------------------------------

    def camera_names(self) -> list[CameraName]:
        with self._cond:
            return sorted(self._cameras)

    def latest(self, name: CameraName) -> Frame | None:
        with self._cond:
            state = self._cameras.get(name)
            return None if state is None else state.latest

    def stats(self) -> list[CameraStats]:
        now = time.time()
        with self._cond:
            return [self._cameras[n].snapshot(now) for n in sorted(self._cameras)]

    def camera_stats(self, name: CameraName) -> CameraStats | None:
        with self._cond:
            state = self._cameras.get(name)
            return None if state is None else state.snapshot(time.time())

    def peer_stats(self) -> list[PeerStats]:
        with self._cond:
            return [dataclasses.replace(p) for p in self._peers.values()]

    def _counts(self, adjust: Callable[[int], int]) -> dict[CameraName, int]:
        with self._cond:
            return {name: adjust(state.count) for name, state in self._cameras.items()}

    def wait_newer(self, name: CameraName, count: int, timeout: float) -> tuple[Frame, int] | None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._stop.is_set():
                state = self._cameras.get(name)
                if state is not None and state.count > count and state.latest is not None:
                    return state.latest, state.count
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(min(remaining, 0.5))
        return None

    def frames(
        self, cameras: Iterable[CameraName] | None = None, timeout: float | None = None
    ) -> FrameFeed:
        """Iterate over new frames as they arrive, newest per camera, cameras in turn.

        ``timeout`` ends the iteration when nothing new arrives for that long.
        """
        return FrameFeed(self, None if cameras is None else set(cameras), timeout)

    def _next_for(
        self, cursor: dict[CameraName, int], wanted: set[CameraName] | None, timeout: float | None
    ) -> tuple[Frame, int] | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._stop.is_set():
                best: CameraState | None = None
                for name, state in self._cameras.items():
                    if wanted is not None and name not in wanted:
                        continue
                    if (
                        state.count > cursor.get(name, 0)
                        and state.latest is not None
                        and (best is None or state.last_seen < best.last_seen)
                    ):
                        best = state
                if best is not None:
                    assert best.latest is not None
                    skipped = best.count - cursor.get(best.name, 0) - 1
                    cursor[best.name] = best.count
                    return best.latest, skipped
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(0.5 if remaining is None else min(remaining, 0.5))
        return None


class FrameFeed:
    """An iterator of the newest frames; ``skipped`` counts frames it never handed out
    because newer ones had arrived (per camera)."""

    def __init__(self, hub: Hub, wanted: set[CameraName] | None, timeout: float | None) -> None:
        self._hub = hub
        self._wanted = wanted
        self._timeout = timeout
        # Frames that arrived before the feed existed are history, not skips: start
        # each known camera just before its latest frame.
        self._cursor: dict[CameraName, int] = hub._counts(lambda c: c - 1)
        self.skipped: dict[CameraName, int] = {}
        self.delivered = 0

    def __iter__(self) -> Iterator[Frame]:
        return self

    def __next__(self) -> Frame:
        try:
            return self.next(self._timeout)
        except TimeoutError:
            raise StopIteration from None

    def next(self, timeout: float | None = None) -> Frame:
        """The next new frame, waiting up to ``timeout`` s (``TimeoutError`` after that)."""
        got = self._hub._next_for(self._cursor, self._wanted, timeout)
        if got is None:
            raise ReceiveTimeout("no new frame within the timeout")
        frame, skipped = got
        if skipped:
            self.skipped[frame.name] = self.skipped.get(frame.name, 0) + skipped
        self.delivered += 1
        return frame

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())
