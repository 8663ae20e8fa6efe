"""The receiver: ZeroMQ sockets and the one receive thread that serves every sender.

Senders reach it three ways, all at once if wanted:

* request/reply on a ROUTER socket (``bind``): camhub :class:`~camhub.sender.Sender`
  and imagezmq ``ImageSender`` alike. Every message is answered at once, before any
  consumer looks at it, so a slow consumer never slows a sender and a dead sender
  never blocks the others;
* PUB/SUB with the senders binding (``subscribe_to``, imagezmq's topology);
* PUB/SUB with the hub binding (``sub_bind``), for senders behind NAT.

Each decoded frame goes to a sink (the :class:`~camhub.store.CameraStore`'s ``put``);
malformed messages are answered ``ERR <reason>``, counted per peer and published on the
event bus. A request/reply sender that offers video (``"video": [...]`` in its header)
gets the codecs this receiver takes in one more reply part (see :mod:`camhub.protocol`).

With many slow senders (cameras at camera rates), the receive thread coalesces its
wake-ups: it sleeps :data:`COALESCE_S` between drains instead of waking for every frame,
which adds at most that much to a frame's age (see ``Receiver._run_one``).
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import zmq

from camhub import protocol
from camhub.bus import EventBus
from camhub.protocol import DEFAULT_LIMITS, Limits, ProtocolError
from camhub.transport import (
    AddressError,
    PeerGate,
    SocketSecurity,
    check_endpoint,
    new_socket,
    peer_address,
    readable,
    recv_parts,
    send_parts,
)
from camhub.types import ArgumentError, CameraName, Frame, HubEvent, PeerStats
from camhub.video.packet import CODECS, Codec

log = logging.getLogger("camhub.hub")

_POLLIN = int(zmq.POLLIN)
_RCVTIMEO = int(zmq.RCVTIMEO)
_IDLE_WAIT_MS = 250
"""Longest blocking receive: how soon the loop notices a stop. Each wake-up of an idle
hub costs CPU, which at low frame rates shows per frame."""
_MAX_HELD = 4096
"""Most credit senders with acknowledgements held back at once."""
_BURST = 256
"""Messages drained from one socket before looking at the others (fairness)."""

COALESCE_S = 0.002
"""How long the receive thread lets frames from many slow senders gather between
wake-ups (see ``Receiver._run_one``)."""
_COALESCE_RATE = 200.0
"""Messages/s from all senders together above which coalescing pays."""
_COALESCE_MAX_PER_PEER = 100.0
"""Messages/s per sender (on average) above which it does not: fast senders, not cameras."""


class _RateWatch:
    """Whether the receive thread should coalesce wake-ups, judged about twice a second
    from the messages and distinct senders seen (cheap: a set insert per message)."""

    __slots__ = ("_count", "_decided", "_peers", "_since")

    PERIOD = 0.5

    def __init__(self, now: float | None = None) -> None:
        self._count = 0
        self._peers: set[bytes] = set()
        self._since = time.monotonic() if now is None else now
        self._decided = False

    def add(self, peer: bytes) -> bool:
        """Count a message; ``True`` every 64 messages (time to judge again)."""
        self._peers.add(peer)
        self._count += 1
        return not self._count & 63

    def coalesce(self, now: float) -> bool:
        span = now - self._since
        if span < self.PERIOD:
            return self._decided
        rate = self._count / span
        per_peer = rate / max(1, len(self._peers))
        self._decided = rate >= _COALESCE_RATE and per_peer <= _COALESCE_MAX_PER_PEER
        self._count, self._since = 0, now
        self._peers.clear()
        return self._decided


FrameSink = Callable[[Frame, str], None]
"""Where decoded frames go: ``sink(frame, peer_address)``, called on the receive thread."""
MalformedSink = Callable[[CameraName], object]
"""Where a malformed message whose header names a camera is counted against it."""


class Receiver:
    """Binds in the constructor (so "address in use" surfaces in the caller); ``start``
    runs the receive thread."""

    def __init__(
        self,
        sink: FrameSink,
        bus: EventBus,
        *,
        bind: Sequence[str] = (),
        subscribe_to: Sequence[str] = (),
        sub_bind: Sequence[str] = (),
        reply: bytes = protocol.DEFAULT_REPLY,
        limits: Limits = DEFAULT_LIMITS,
        security: SocketSecurity | None = None,
        on_malformed: MalformedSink | None = None,
        video: Sequence[Codec] = CODECS,
    ) -> None:
        unknown = [c for c in video if c not in CODECS]
        if unknown:
            raise ArgumentError(f"unknown video codec(s) {unknown}; known: {', '.join(CODECS)}")
        self.video: frozenset[Codec] = frozenset(video)
        """Video codecs this hub takes (empty: it answers no offer and refuses video)."""
        self._video_reply = protocol.video_reply([c for c in CODECS if c in self.video])
        self._sink = sink
        self._bus = bus
        self._on_malformed = on_malformed
        self.reply = reply
        self.limits = limits
        self.security = security
        self._gate = security if isinstance(security, PeerGate) else None
        self._peers: dict[str, PeerStats] = {}
        self._peers_lock = threading.Lock()
        self._peer_names: dict[bytes, str] = {}
        """Peer address of each routing id libzmq made (one per connection)."""
        self._commands: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.malformed = 0
        self.messages = 0
        self.replies = 0
        self.coalescing = False
        """Whether the receive thread now coalesces wake-ups (many slow senders)."""
        """Replies sent (fewer than messages when credit senders are served)."""
        self._unacked: dict[bytes, tuple[list[bytes], int, bool]] = {}
        """Credit senders' frames not yet acknowledged: routing id -> (envelope, count,
        whether one of them offered video)."""
        self._held_since = 0.0
        self.endpoints: list[str] = []
        """Addresses actually bound (ports resolved), in the order given."""
        self._router: zmq.Socket[bytes] | None = None
        self._sub: zmq.Socket[bytes] | None = None
        self._bind_sockets(list(bind), list(sub_bind), list(subscribe_to))

    # -- set-up ---------------------------------------------------------------------

    def _new(self, kind: int, *, server: bool) -> zmq.Socket[bytes]:
        return new_socket(
            kind,
            hwm=1000 if kind == zmq.ROUTER else 8,
            max_msg_size=self.limits.max_payload + self.limits.max_header + 1024,
            security=self.security,
            server=server,
        )

    def _bind_sockets(
        self, binds: list[str], sub_binds: list[str], sub_connects: list[str]
    ) -> None:
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
            raise AddressError(f"hub cannot listen: {exc}") from None

    def connect(self, address: str) -> None:
        """Also subscribe to a PUB sender at ``address``."""
        check_endpoint(address, what="sender PUB address")
        if self._sub is None:
            if self._thread is not None:
                raise ArgumentError("start the hub with subscribe_to=... to use PUB/SUB")
            self._sub = self._new(zmq.SUB, server=False)
            self._sub.setsockopt(zmq.SUBSCRIBE, b"")
        if self._thread is None:
            self._sub.connect(address)
        else:
            self._commands.put(address)  # sockets belong to the receive thread now

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Receiver:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="camhub-hub", daemon=True)
            self._thread.start()
            log.info("hub listening on %s", ", ".join(self.endpoints) or "(PUB/SUB only)")
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._close_sockets()

    def _close_sockets(self) -> None:
        for sock in (self._router, self._sub):
            if sock is not None:
                sock.close(linger=0)
        self._router = self._sub = None

    def peer_stats(self) -> list[PeerStats]:
        with self._peers_lock:
            return [dataclasses.replace(p) for p in self._peers.values()]

    # -- receive thread ---------------------------------------------------------------

    def _run(self) -> None:
        socks = [sock for sock in (self._router, self._sub) if sock is not None]
        if len(socks) == 1:
            self._run_one(socks[0], routed=socks[0] is self._router)
        elif socks:
            self._run_many()
        else:  # a hub fed only by pulled or browser cameras: nothing to receive
            self._stop.wait()

    def _run_one(self, sock: zmq.Socket[bytes], *, routed: bool) -> None:
        # One socket (the usual case): a blocking receive with a timeout, like imagezmq's
        # loop. Polling first would cost a system call or two for every large frame.
        # While acknowledgements are held the timeout ends when they fall due; a
        # non-blocking receive plus a poll instead would cost an exception and a system
        # call for nearly every frame.
        #
        # Many slow senders (cameras at camera rates, each on its own clock) make every
        # frame a wake-up of this thread and a signal from ZeroMQ's I/O thread, which
        # costs more than the frame itself. Then the loop coalesces: it takes what is
        # queued without blocking and, once the queue is empty, sleeps COALESCE_S so the
        # next wake-up finds several frames (as a network card moderates interrupts).
        # That adds at most COALESCE_S to a frame's age, and never slows a fast sender:
        # a sender that alone sends faster than _COALESCE_MAX_PER_PEER frames/s (a
        # lock-step sender waits for every reply) turns coalescing off.
        timeout = _IDLE_WAIT_MS
        sock.setsockopt(_RCVTIMEO, timeout)
        meter = _RateWatch()
        coalesce = False
        while not self._stop.is_set():
            while not routed and not self._commands.empty():
                sock.connect(self._commands.get())
            if coalesce:
                try:
                    parts = recv_parts(sock)
                except zmq.Again:
                    if self._acks_due():
                        self._flush_acks(sock)
                    time.sleep(COALESCE_S)
                    coalesce = self.coalescing = meter.coalesce(time.monotonic())
                    continue
                except zmq.ZMQError:  # socket closed under us during shutdown
                    break
            else:
                wanted = _IDLE_WAIT_MS
                if self._unacked:
                    left = self._held_since + protocol.ACK_DELAY - time.monotonic()
                    wanted = min(_IDLE_WAIT_MS, max(1, int(left * 1000) + 1))
                if wanted != timeout:
                    sock.setsockopt(_RCVTIMEO, wanted)
                    timeout = wanted
                try:
                    parts = recv_parts(sock, wait=True)
                except zmq.Again:
                    if self._acks_due():
                        self._flush_acks(sock)
                    coalesce = self.coalescing = meter.coalesce(time.monotonic())
                    continue
                except zmq.ZMQError:  # socket closed under us during shutdown
                    break
            self._dispatch(sock, parts, routed=routed)
            if self._unacked and self._acks_due():
                self._flush_acks(sock)
            # A routed message starts with its sender's routing id; PUB/SUB messages
            # name no sender, and count as one (never coalesced: nobody waits on them).
            if meter.add(parts[0].bytes if routed else b""):
                coalesce = self.coalescing = meter.coalesce(time.monotonic())

    def _run_many(self) -> None:
        # zmq.zmq_poll on a prebuilt list: zmq.Poller costs several microseconds a call.
        polled = [(sock, _POLLIN) for sock in (self._router, self._sub) if sock is not None]
        while not self._stop.is_set():
            while not self._commands.empty() and self._sub is not None:
                self._sub.connect(self._commands.get())
            try:
                wait = 10 if self._unacked else 100  # held acknowledgements fall due soon
                ready = [sock for sock, _events in zmq.zmq_poll(polled, wait)]
            except zmq.ZMQError:  # socket closed under us during shutdown
                break
            if self._router is not None and self._router in ready:
                self._drain(self._router, routed=True)
            if self._router is not None and self._acks_due():
                self._flush_acks(self._router)
            if self._sub is not None and self._sub in ready:
                self._drain(self._sub, routed=False)

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
            self._handle(parts, peer_address(parts[0]) or "pub")  # PUB/SUB: no reply

    def _handle_routed(self, sock: zmq.Socket[bytes], parts: list[zmq.Frame]) -> None:
        # REQ and camhub DEALER peers put an empty delimiter after the routing id.
        split = 2 if len(parts) > 2 and len(parts[1]) == 0 else 1
        envelope, body = parts[:split], parts[split:]
        key = parts[0].bytes
        peer = self._peer_names.get(key)
        if peer is None:
            peer = peer_address(parts[0]) or key.hex()
            # libzmq's own routing ids (first byte 0) name one connection for the
            # socket's life, so its address is looked up once; ids a peer chose itself
            # may move to another connection and are looked up every time.
            if key[:1] == b"\x00":
                if len(self._peer_names) >= 4096:  # bound memory under connection churn
                    self._peer_names.clear()
                self._peer_names[key] = peer
        ack: int | None = None
        offered = False
        if self._gate is not None and not self._gate.admits(parts[0]):
            answer = protocol.error_reply("this sender's key is no longer authorized")
        else:
            answer, ack, offered = self._handle(body, peer, credit=True)
        if ack is not None:
            # A credit sender: count the frame and answer every ack-th one, for all the
            # frames since the last answer. Errors (ack None) are answered at once below.
            held = self._unacked.get(key)
            count = 1 if held is None else held[1] + 1
            offered = offered or (held is not None and held[2])
            if count < ack:
                if not self._unacked:
                    self._held_since = time.monotonic()
                elif len(self._unacked) >= _MAX_HELD:  # bound memory under id churn
                    self._flush_acks(sock)
                self._unacked[key] = ([f.bytes for f in envelope], count, offered)
                return
            if held is not None:
                del self._unacked[key]
            self._reply(sock, self._answer(envelope, answer, count, offered))
            return
        if offered:
            self._reply(sock, self._answer(envelope, answer, 1, offered))
            return
        self._reply(sock, [*envelope, answer])

    def _answer(
        self, envelope: Sequence[Any], answer: bytes, count: int, offered: bool
    ) -> list[Any]:
        """A reply with its frame count, and this hub's codecs for a sender that offered
        video (an old or imagezmq hub's reply has no such part: no video)."""
        parts = [*envelope, answer, str(count).encode()]
        if offered and self.video:
            parts.append(self._video_reply)
        return parts

    def _reply(self, sock: zmq.Socket[bytes], parts: list[Any]) -> None:
        self.replies += 1
        try:
            send_parts(sock, parts)
        except zmq.ZMQError:
            pass  # the peer went away; ROUTER drops unroutable replies

    def _flush_acks(self, sock: zmq.Socket[bytes]) -> None:
        """Answer every credit sender for the frames held back (called after
        ``ACK_DELAY``, so a sender's last frames are acknowledged too)."""
        held, self._unacked = self._unacked, {}
        for envelope, count, offered in held.values():
            self._reply(sock, self._answer(envelope, self.reply, count, offered))

    def _acks_due(self) -> bool:
        return bool(self._unacked) and time.monotonic() - self._held_since >= protocol.ACK_DELAY

    def _handle(
        self, body: Sequence[zmq.Frame], peer: str, *, credit: bool = False
    ) -> tuple[bytes, int | None, bool]:
        """The reply for one message and, for a frame from a request/reply sender
        (``credit``: the socket can answer), its ``ack`` (``None`` for errors and senders
        without credit) and whether it offered video."""
        self.messages += 1
        stats = self._peer(peer)
        stats.messages += 1
        ack: int | None = None
        offer: tuple[Codec, ...] = ()
        try:
            if credit:
                frame, ack, offer = protocol.decode_request([f.buffer for f in body], self.limits)
            else:
                frame = protocol.decode([f.buffer for f in body], self.limits)
        except ProtocolError as exc:
            return self._malformed(peer, stats, str(exc), self._camera_of(body)), None, False
        except Exception as exc:  # a decoder bug must not kill the receive thread
            reason = f"undecodable message ({exc!r:.100})"
            return self._malformed(peer, stats, reason), None, False
        if frame.video is not None and frame.video.codec not in self.video:
            reason = f"this hub does not take {frame.video.codec} video; send JPEG"
            return self._malformed(peer, stats, reason, frame.name), None, False
        self._sink(frame, peer)
        return self.reply, ack, bool(offer)

    def _peer(self, peer: str) -> PeerStats:
        stats = self._peers.get(peer)
        if stats is None:
            with self._peers_lock:
                if len(self._peers) >= 4096:  # bound memory under address churn
                    self._peers.pop(next(iter(self._peers)))
                stats = self._peers[peer] = PeerStats(peer)
        return stats

    def _camera_of(self, body: Sequence[zmq.Frame]) -> CameraName | None:
        """The camera a malformed message names, when its header reads (a bad payload
        under a good header is that camera's malformed frame)."""
        if not body:
            return None
        try:
            name = protocol.parse_header(body[0].buffer, self.limits)["msg"]
        except Exception:
            return None
        return name if isinstance(name, str) else None

    def _malformed(
        self, peer: str, stats: PeerStats, reason: str, camera: CameraName | None = None
    ) -> bytes:
        self.malformed += 1
        stats.malformed += 1
        if camera is not None and self._on_malformed is not None:
            self._on_malformed(camera)
        now = time.time()
        if now - stats.last_logged >= 10.0:
            more = f" ({stats.malformed} so far from this peer)" if stats.malformed > 1 else ""
            log.warning("malformed message from %s: %s%s", peer, reason, more)
            stats.last_logged = now
        self._bus.publish(HubEvent("malformed", camera, now, f"{peer}: {reason}"))
        return protocol.error_reply(reason)
