"""Senders: push frames to a hub without ever blocking longer than a timeout.

* :class:`Sender` talks request/reply. It uses a DEALER socket that frames each message
  exactly as a REQ socket would (empty delimiter, header, payload), so it works with
  camhub hubs and with imagezmq's REP ``ImageHub``. Up to ``window`` frames may be in
  flight, so throughput is not limited by the round trip; by default the window is
  sized to the frames (about 768 KiB in flight, 4 to 16 frames). With a window of 4 or
  more it asks camhub hubs for credit acknowledgements (``"ack": window // 2`` in its
  headers: one reply per that many frames, see :mod:`camhub.protocol`); it still takes
  one reply per frame from hubs that ignore the key (imagezmq). When replies stop coming
  within ``timeout`` the socket is thrown away and a fresh one connects (the "Lazy
  Pirate" pattern), so a restarted hub is picked up again by itself.
* :class:`Publisher` talks PUB/SUB: it binds (imagezmq's topology) or connects to a hub
  that binds (works behind NAT). It never waits; with a tiny high-water mark, a slow
  subscriber loses old frames instead of falling behind.

Video (frames with ``Frame.video``): a ``Sender(video=[...])`` offers the codecs it could
send in its headers until a hub answers; :attr:`Sender.video_codecs` is the answer
(``None`` until then, and again after every reconnect: a restarted hub may be another
hub; ``frozenset()`` from a hub that takes no video, such as imagezmq's). Video frames
go out only in a codec the hub takes, and only when the hub has what they depend on: once
a frame of a group is lost (a timeout, a reconnect, a codec the hub does not take), the
camera's P-frames are dropped until its next keyframe (``SenderStats.gop_drops``), and
``on_keyframe_needed(camera)`` asks an encoding source for one at once. After every
(re)connect the first video frame of each camera is a keyframe. A ``Publisher`` sends
video only in the codecs it is told (``Publisher(video=[...])``).

Both are used from one thread at a time, like the ZeroMQ sockets they wrap.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

import zmq

from camhub import protocol
from camhub.security.monitor import HandshakeFailure, HandshakeWatch, HubRefused
from camhub.security.probe import Probe, probe
from camhub.transport import (
    SocketSecurity,
    check_endpoint,
    new_socket,
    readable,
    recv_parts,
    send_parts,
)
from camhub.types import ArgumentError, Frame, Image, SendTimeout
from camhub.video.gop import GopGate, GopQueue, KeyframeRequest
from camhub.video.packet import CODECS, Codec

log = logging.getLogger("camhub.sender")

_SLICE = 0.1
"""Longest single wait on the hub, so that :meth:`Sender.interrupt` takes effect soon."""

_PROBE_TIMEOUT = 0.5
"""Longest look at what answers at the hub's address after a failure (once per outage)."""

OnTimeout = Literal["drop", "raise"]

AUTO_WINDOW = (4, 16)
"""Fewest and most frames in flight a ``Sender(window=None)`` chooses."""
AUTO_IN_FLIGHT = 768 * 1024
"""Bytes in flight a ``Sender(window=None)`` aims for. Measured (bench/bench_fastpath.py):
more frames in flight mean fewer wake-ups of both ends, until what is in flight no
longer fits the CPUs' caches and every copy slows down: 16 frames of 30 KB and 8 of
91 KB were fastest, 16 of 91 KB or 8 of 900 KB slower again."""


@dataclass(slots=True)
class SenderStats:
    sent: int = 0
    """Frames handed to the socket."""
    acked: int = 0
    """Frames the hub confirmed."""
    dropped: int = 0
    """Frames given up: not deliverable in time, lost in a reconnect, or superseded."""
    refused: int = 0
    """Frames the hub answered with an error."""
    timeouts: int = 0
    reconnects: int = 0
    bytes: int = 0
    handshake_failures: int = 0
    """Connections the hub refused (unknown key, wrong hub key, security mismatch)."""
    gop_drops: int = 0
    """Video frames not sent because a frame before them in their group was lost (also
    counted in ``dropped``)."""
    no_video: int = 0
    """Video frames not sent because the hub does not take their codec, or has not said
    yet that it does (also counted in ``dropped``)."""


class _Stamper:
    """Numbers frames per camera so the hub can count the ones that never arrived."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def stamp(self, frame: Frame) -> Frame:
        if frame.seq is None:
            frame.seq = self._next.get(frame.name, 0)
        self._next[frame.name] = frame.seq + 1
        if frame.captured_at is None:
            frame.captured_at = time.time()
        return frame


class _Unstamped(_Stamper):
    """Leaves headers exactly as imagezmq writes them (``{"msg": name}`` plus the array's
    dtype and shape)."""

    def stamp(self, frame: Frame) -> Frame:
        return frame


def _codecs(video: Iterable[Codec]) -> tuple[Codec, ...]:
    wanted = list(video)
    unknown = [c for c in wanted if c not in CODECS]
    if unknown:
        raise ArgumentError(f"unknown video codec(s) {unknown}; known: {', '.join(CODECS)}")
    return tuple(c for c in CODECS if c in wanted)


class _BaseSender:
    def __init__(
        self, *, stamp: bool = True, on_keyframe_needed: KeyframeRequest | None = None
    ) -> None:
        self.stats = SenderStats()
        self._stamper = _Stamper() if stamp else _Unstamped()
        self._gate = GopGate(on_keyframe_needed)
        self._video_cameras: dict[str, tuple[int, int] | None] = {}
        """Cameras that sent video, with their picture size (filled in on P-frames)."""
        self.video_codecs: frozenset[Codec] | None = None
        """The video codecs the receiver takes (``None``: not known yet)."""
        self._refusal_logged: str | None = None

    @property
    def on_keyframe_needed(self) -> KeyframeRequest | None:
        """``callback(camera)``: a group of ``camera`` was cut; its encoder should make
        the next frame a keyframe. Called on the sending thread; must not block."""
        return self._gate.on_keyframe_needed

    @on_keyframe_needed.setter
    def on_keyframe_needed(self, callback: KeyframeRequest | None) -> None:
        self._gate.on_keyframe_needed = callback

    def accepts(self, codec: Codec) -> bool:
        """Whether video frames in ``codec`` go out now (else send JPEG)."""
        return self.video_codecs is not None and codec in self.video_codecs

    def send_frame(self, frame: Frame) -> bool:
        """Send one frame; returns whether it was handed to the socket."""
        self._stamper.stamp(frame)
        self._check_peer()
        if frame.video is None:
            if self._video_cameras:
                self._gate.admit(frame)  # a picture outside the chain ends its group
            return self._send(frame)
        if not self._admit_video(frame):
            self.stats.dropped += 1
            return False
        if self._send(frame):
            return True
        self._gate.lose(frame.name)
        return False

    def _admit_video(self, frame: Frame) -> bool:
        """Whether a video frame may go out now (see the module docstring)."""
        video = frame.video
        assert video is not None
        name = frame.name
        size = self._video_cameras.get(name)
        if frame.width is not None and frame.height is not None:
            self._video_cameras[name] = (frame.width, frame.height)
        elif size is not None:
            frame.width, frame.height = size
        else:
            self._video_cameras.setdefault(name, None)
        if not self.accepts(video.codec):
            self.stats.no_video += 1
            self._gate.unsent(frame)
            why = (
                "has not said yet whether it takes"
                if self.video_codecs is None
                else "does not take"
            )
            message = f"hub {why} {video.codec} video"
            if self._refusal_logged != message:
                self._refusal_logged = message
                log.info("%s; video frames of %s are not sent (send JPEG)", message, name)
            return False
        if not self._gate.admit(frame):
            self.stats.gop_drops += 1
            return False
        if frame.width is None or frame.height is None:
            self.stats.no_video += 1
            self._gate.lose(name)
            log.warning(
                "camera %s: %s keyframe without parameter sets (no picture size); not sent",
                name,
                video.codec,
            )
            return False
        return True

    def _send(self, frame: Frame) -> bool:
        raise NotImplementedError

    def _check_peer(self) -> bool:
        """Notice a receiver that may have changed under us (see :class:`Sender`);
        ``True`` when it did."""
        return False

    def send_jpeg(
        self,
        name: str,
        jpeg: bytes,
        *,
        captured_at: float | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> bool:
        """Send already-encoded JPEG bytes; returns whether the frame was sent."""
        return self.send_frame(
            Frame(name=name, jpeg=jpeg, captured_at=captured_at, width=width, height=height)
        )

    def send_image(self, name: str, image: Image, *, captured_at: float | None = None) -> bool:
        """Send a raw numpy array (any dtype/shape imagezmq accepts)."""
        return self.send_frame(Frame(name=name, array=image, captured_at=captured_at))


class Sender(_BaseSender):
    """Request/reply sender with a window of frames in flight and automatic reconnect.

    ``window``: the most frames in flight; ``None`` (the default) sizes it to each frame,
    see :data:`AUTO_IN_FLIGHT`; 1 is imagezmq's lock-step (a REQ socket).

    ``on_timeout="drop"`` (the default) gives up a frame that cannot be delivered within
    ``timeout`` seconds, logs once per outage and returns ``False``; ``"raise"`` raises
    :class:`~camhub.types.SendTimeout` instead.

    A hub that refuses the connection handshake (secure mode: unknown key, wrong hub key,
    encryption on one side only) is reported as soon as it happens, in the log and in
    :attr:`last_error`, or as :class:`~camhub.security.HubRefused` with ``"raise"``; the
    sender retries on a fresh connection every ``timeout`` seconds.

    ``stamp=False`` leaves out the per-frame stamps (``seq``, ``ts``), so headers are
    exactly imagezmq's: the hub then cannot count lost frames or show latency, but a
    lock-step exchange saves some microseconds on each side.

    ``video``: the codecs this sender could send, offered to the hub until it answers
    (see the module docstring, :attr:`video_codecs` and :meth:`accepts`);
    ``on_keyframe_needed``: called with a camera name when its next video frame should be
    a keyframe.
    """

    def __init__(
        self,
        connect_to: str = "tcp://127.0.0.1:5555",
        *,
        window: int | None = None,
        timeout: float = 2.0,
        on_timeout: OnTimeout = "drop",
        security: SocketSecurity | None = None,
        stamp: bool = True,
        video: Iterable[Codec] = (),
        on_keyframe_needed: KeyframeRequest | None = None,
    ) -> None:
        super().__init__(stamp=stamp, on_keyframe_needed=on_keyframe_needed)
        self.video_offer = _codecs(video)
        """The codecs this sender offers the hub (empty: it never sends video)."""
        self._offer = protocol.offer_json(self.video_offer) if self.video_offer else None
        if window is not None and window < 1:
            raise ArgumentError(f"window must be at least 1, got {window}")
        if timeout <= 0:
            raise ArgumentError(f"timeout must be positive, got {timeout}")
        if on_timeout not in ("drop", "raise"):
            raise ArgumentError(f"on_timeout must be 'drop' or 'raise', got {on_timeout!r}")
        self.address = check_endpoint(connect_to, what="hub address")
        self._auto = window is None
        self.window = AUTO_WINDOW[1] if window is None else window
        """The most frames in flight (with ``window=None``, the current frame size's
        limit is :attr:`limit`)."""
        self.limit = self.window
        """Frames that may be in flight now."""
        self.timeout = timeout
        self.on_timeout: OnTimeout = on_timeout
        self._security = security
        self._in_flight = 0
        self._outage_since: float | None = None
        self._outage_detail: Probe | Literal[""] = ""
        self._socket: zmq.Socket[bytes] | None = None
        self._watch: HandshakeWatch | None = None
        self._refused_at: float | None = None
        self.last_reply: bytes | None = None
        self._last_refusal: bytes | None = None
        self.last_error: str | None = None
        """Why the hub cannot be reached right now (None while it answers)."""
        self._interrupt = threading.Event()
        self.ack_every = 1
        """Frames per acknowledgement asked of camhub hubs (1: one reply per frame)."""
        self._set_limit(self.window)
        self._answer_now = False
        self._connect()

    def _set_limit(self, limit: int) -> None:
        self.limit = limit
        self.ack_every = limit // 2 if limit >= 4 else 1

    def _fit(self, nbytes: int) -> None:
        """``window=None``: size the window to the frame (about ``AUTO_IN_FLIGHT`` bytes).
        A shrinking window can leave more frames in flight than the new limit while the
        hub holds their credit for the old one; it then answers within ACK_DELAY."""
        low, high = AUTO_WINDOW
        limit = min(high, max(low, AUTO_IN_FLIGHT // max(1, nbytes)))
        if limit != self.limit:
            self._set_limit(limit)

    @property
    def socket(self) -> zmq.Socket[bytes]:
        """The current ZeroMQ socket (replaced on every reconnect)."""
        assert self._socket is not None, "sender is closed"
        return self._socket

    def _connect(self) -> None:
        # Lock-step (window 1) uses a REQ socket, as imagezmq does: libzmq then adds and
        # strips the envelope in C, two fewer Python calls per frame each way. The wire
        # is the same as the DEALER's (empty delimiter, header, payload); a REQ socket is
        # never reused after a timeout, so its strict send/receive order cannot jam.
        kind = zmq.REQ if self.window == 1 else zmq.DEALER
        self._prefix: tuple[bytes, ...] = () if kind == zmq.REQ else (b"",)
        # The window, not the high-water mark, bounds what is in flight. A mark near the
        # window makes libzmq wake the sending thread with a command on almost every
        # message (its low-water mark is half the high one): 15-20 us a frame.
        sock = new_socket(kind, hwm=1000, security=self._security)
        if kind == zmq.REQ:
            sock.setsockopt(zmq.RCVTIMEO, int(_SLICE * 1000))
        # Queue only to live connections, so "hub unreachable" shows up as not-writable
        # instead of frames piling up for a peer that is not there.
        sock.setsockopt(zmq.IMMEDIATE, 1)
        sock.setsockopt(zmq.RECONNECT_IVL, 100)
        sock.setsockopt(zmq.RECONNECT_IVL_MAX, 1000)
        # A refused CURVE handshake is otherwise indistinguishable from an absent hub.
        self._watch = HandshakeWatch(sock)
        sock.connect(self.address)
        self._socket = sock
        self._in_flight = 0
        self._new_peer()

    def _new_peer(self) -> None:
        """A new connection may reach another hub, which has none of our video yet."""
        self.video_codecs = None
        self._gate.reset()
        self._settled_at = 0
        """The socket's connection changes when the hub last answered the offer."""

    def _check_peer(self) -> bool:
        # libzmq reconnects by itself when a hub restarts, and the new hub may be an
        # imagezmq one: a video sender watches its socket's connections come and go (a
        # poll of an inproc pipe, about a microsecond; senders without an offer skip it).
        # A lost connection shows at once, a new one can only follow it RECONNECT_IVL
        # later, so no frame reaches another hub before this says so.
        if (
            self._offer is None
            or self._watch is None
            or self.video_codecs is None
            or self._watch.poll() <= self._settled_at
        ):
            return False
        log.info("hub %s reconnected; asking again whether it takes video", self.address)
        # Frames in flight went to the connection that was lost: no answer will come.
        self.stats.dropped += self._in_flight
        self._in_flight = 0
        self._new_peer()
        return True

    def _close_socket(self) -> None:
        if self._watch is not None:
            self._watch.close()
            self._watch = None
        if self._socket is not None:
            self._socket.close(linger=0)
            self._socket = None

    def _reconnect(self) -> None:
        self.stats.reconnects += 1
        self.stats.dropped += self._in_flight
        self._close_socket()
        self._connect()

    def _note_refused(self, failure: HandshakeFailure) -> None:
        # libzmq does not retry a refused handshake; a fresh socket will, after a pause.
        self.stats.handshake_failures += 1
        self._refused_at = time.monotonic()
        message = f"hub {self.address} {failure.explain(self._probe_after(failure))}"
        if self.last_error != message:
            log.error("%s; dropping frames, retrying every %.1f s", message, self.timeout)
            self._outage_since = self._outage_since or time.time()
        self.last_error = message
        if self.on_timeout == "raise":
            raise HubRefused(message)

    def _probe_after(self, failure: HandshakeFailure) -> Probe | None:
        """A handshake that ended before it began is as likely a port proxy with no hub
        behind it as a security mismatch: look at what answers, once per failure."""
        if failure.event != zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL:
            return None
        return probe(self.address, _PROBE_TIMEOUT)

    def _still_refused(self) -> bool:
        """True while waiting to retry after a refusal (frames are dropped meanwhile)."""
        if self._refused_at is None:
            return False
        if time.monotonic() - self._refused_at < self.timeout:
            self.stats.dropped += 1
            if self.on_timeout == "raise":
                raise HubRefused(self.last_error or f"hub {self.address} refused us")
            return True
        self._refused_at = None
        self._reconnect()
        return False

    def interrupt(self) -> None:
        """Make a send or flush that is waiting on the hub give up within ``_SLICE`` s, and
        every later one at once. Safe from any thread; for stopping quickly while the hub
        is down (Ctrl-C must not wait out ``timeout``)."""
        self._interrupt.set()

    @property
    def refused(self) -> bool:
        """True while the hub refuses this sender's handshake (see :attr:`last_error`)."""
        return self._refused_at is not None

    def _wait(self, ready: Callable[[float], bool], timeout: float) -> bool:
        """``ready(t)`` in slices of at most ``_SLICE`` s until it is true, ``timeout``
        passes or :meth:`interrupt` is called. The first slice is the whole wait when it
        is short, so the usual case (a reply or room within 0.1 s) costs one poll."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if ready(max(0.0, min(remaining, _SLICE))):
                return True
            if remaining <= _SLICE or self._interrupt.is_set():
                return False

    def _note_outage(self, why: str) -> None:
        if self._interrupt.is_set():  # stopping, not an outage
            self.stats.dropped += 1
            return
        self.stats.timeouts += 1
        if self._outage_since is None:
            self._outage_since = time.time()
            # Once per outage: say what is at the address, so "not reachable" tells a
            # stopped hub from a port proxy with nothing behind it.
            found = probe(self.address, _PROBE_TIMEOUT)
            self._outage_detail = "" if found.kind in ("zmtp", "skipped") else found
            log.warning(
                "hub %s %s within %.1f s%s; dropping frames and reconnecting until it answers",
                self.address,
                why,
                self.timeout,
                f": {found.reason()}" if self._outage_detail else "",
            )
        detail = self._outage_detail
        self.last_error = f"hub {self.address} {why} within {self.timeout:.1f} s" + (
            f": {detail.reason()}" if detail else ""
        )
        if self.on_timeout == "raise":
            raise SendTimeout(self.last_error)

    def _note_recovered(self) -> None:
        self.last_error = None
        if self._outage_since is not None:
            log.info(
                "hub %s answering again after %.1f s",
                self.address,
                time.time() - self._outage_since,
            )
            self._outage_since = None

    def _take_replies(self, wait: float, *, expected: bool = False) -> bool:
        """Read every reply available, waiting up to ``wait`` s for the first; False if none.
        ``expected``: a frame was just sent, so skip the look that would find nothing."""
        sock = self.socket
        if expected and not self._prefix and not self._offering:
            # Lock-step on a REQ socket: one blocking receive (RCVTIMEO is one slice)
            # instead of a poll and then a receive.
            try:
                self._on_reply(sock.recv())
                return True
            except zmq.Again:
                pass
        if not self._wait(lambda t: readable(sock, int(t * 1000)), wait):
            return False
        skip = len(self._prefix)
        while True:
            try:
                parts = recv_parts(sock)
            except zmq.Again:
                return True
            # [delimiter,] reply[, count of a credit acknowledgement[, hub's video codecs]]
            if len(parts) == skip + 1:
                self._on_reply(parts[skip].bytes)
            else:
                extra = parts[skip + 2].bytes if len(parts) > skip + 2 else None
                self._on_reply(parts[skip].bytes, _count(parts[skip + 1].bytes), extra)
            # No frame in flight means no reply to wait for: skip a poll (lock-step mode).
            if not self._in_flight or not readable(sock):
                return True

    @property
    def _offering(self) -> bool:
        """Whether this sender's headers carry its video offer (until a hub answers)."""
        return self._offer is not None and self.video_codecs is None

    def _on_reply(self, reply: bytes, count: int = 1, video: bytes | None = None) -> None:
        """``count``: frames this reply acknowledges (more than one for a credit ack);
        ``video``: the reply part that says which codecs the hub takes, if any."""
        count = min(count, self._in_flight) if self._in_flight else 1
        self._in_flight -= min(count, self._in_flight)
        self.last_reply = reply
        if self._offering and not reply.startswith(protocol.ERROR_REPLY_PREFIX):
            # Every frame on this connection carried the offer: the first answer settles
            # it. A hub that says nothing (imagezmq, the compat ImageHub) takes no video.
            self.video_codecs = protocol.parse_video_reply(video)
            if self._watch is not None:
                self._settled_at = self._watch.poll()
            log.info(
                "hub %s takes %s",
                self.address,
                ", ".join(sorted(self.video_codecs)) + " video"
                if self.video_codecs
                else "no video",
            )
        if reply.startswith(protocol.ERROR_REPLY_PREFIX):
            self.stats.refused += 1
            if reply != self._last_refusal:  # once per reason, not once per frame
                log.warning(
                    "hub %s refused a frame: %s", self.address, reply.decode(errors="replace")
                )
            self._last_refusal = reply
        else:
            self.stats.acked += count
            self._last_refusal = None
        if self._outage_since is not None or self.last_error is not None:
            self._note_recovered()

    def _send(self, frame: Frame) -> bool:
        if self._auto:
            self._fit(frame.nbytes)
        if self._in_flight >= self.ack_every:
            self._take_replies(0)  # before that many frames no credit can be due
        # A credit sender's request() waits for its frame's reply: it asks for it at once.
        ack = None if self.ack_every == 1 else 1 if self._answer_now else self.ack_every
        offer = self._offer if self.video_codecs is None else None
        parts = [*self._prefix, *protocol.encode(frame, ack=ack, offer=offer)]
        # While the hub answers and the window has room, queue the frame without first
        # asking whether the socket is writable: a non-blocking send says so itself, and
        # with IMMEDIATE it fails when no hub is connected. Otherwise the full path
        # decides, and explains.
        fast = (
            self._in_flight < self.limit and self._outage_since is None and self._refused_at is None
        )
        if not (fast and self._try_send(parts)):
            if not self._wait_for_room():
                return False
            if self._check_peer():  # connected to a hub anew while waiting for room
                if frame.video is not None:
                    self.stats.dropped += 1
                    self.stats.no_video += 1
                    return False
                parts = [*self._prefix, *protocol.encode(frame, ack=ack, offer=self._offer)]
            if not self._try_send(parts):
                self.stats.dropped += 1
                self._note_outage("is not accepting frames")
                return False
        self._in_flight += 1
        self.stats.sent += 1
        self.stats.bytes += frame.nbytes
        return True

    def _try_send(self, parts: list[protocol.Buffer]) -> bool:
        try:
            send_parts(self.socket, parts)
        except zmq.Again:
            return False
        return True

    def _wait_for_room(self) -> bool:
        """Wait until a frame may go out: replies make room in the window, the hub is
        connected and has not refused us. False, with the frame counted as dropped and
        the outage noted, when that does not happen within ``timeout``."""
        if self._in_flight:
            self._take_replies(0)
        if self._in_flight >= self.limit and not self._take_replies(self.timeout):
            # Replies stopped: the hub died or restarted. Start over on a fresh socket.
            self._reconnect()
            self.stats.dropped += 1
            self._note_outage("stopped answering")
            return False
        if self._still_refused():
            return False
        assert self._watch is not None
        watch = self._watch
        if self._wait(
            lambda t: watch.wait_writable(t) or watch.failure is not None, self.timeout
        ) and (watch.failure is None):
            return True
        self.stats.dropped += 1
        if watch.failure is not None:
            self._note_refused(watch.failure)
        else:
            if self._in_flight:
                # The hub went away with frames unanswered (perhaps a held credit
                # window): they will never be answered, so start over from zero.
                self._reconnect()
            self._note_outage("is not reachable")
        return False

    def request(self, frame: Frame) -> bytes | None:
        """Send one frame and wait for its reply (imagezmq's lock-step behaviour).

        Returns the hub's reply, or ``None`` if the frame was dropped on timeout.
        """
        if self._in_flight and not self.flush():
            return None
        self._answer_now = True
        try:
            if not self.send_frame(frame):
                return None
        finally:
            self._answer_now = False
        if self._take_replies(self.timeout, expected=True):
            return self.last_reply
        self._reconnect()
        self._note_outage("did not reply")
        return None

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every frame in flight is acknowledged; False if that timed out."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while self._in_flight:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._take_replies(remaining):
                self._reconnect()
                return False
        return True

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def close(self) -> None:
        """Close at once; frames still in flight are abandoned (LINGER is 0)."""
        self._close_socket()

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _count(raw: bytes) -> int:
    """The frame count of a credit acknowledgement; 1 for anything unexpected."""
    try:
        return max(1, int(raw))
    except ValueError:
        return 1


class Publisher(_BaseSender):
    """PUB/SUB sender. ``bind=True`` listens (imagezmq style, the hub connects to it);
    ``bind=False`` connects to a hub that binds a SUB socket (works behind NAT)."""

    def __init__(
        self,
        address: str,
        *,
        bind: bool = True,
        hwm: int = 2,
        security: SocketSecurity | None = None,
        video: Iterable[Codec] = (),
        on_keyframe_needed: KeyframeRequest | None = None,
    ) -> None:
        super().__init__(on_keyframe_needed=on_keyframe_needed)
        # No replies to learn from: the caller says which codecs the subscribers take.
        self.video_codecs = frozenset(_codecs(video))
        self.address = check_endpoint(address, what="publish address", bind=bind)
        self._socket: zmq.Socket[bytes] | None = new_socket(
            zmq.PUB, hwm=hwm, security=security, server=bind
        )
        if bind:
            self._socket.bind(self.address)
            self.address = self._socket.getsockopt_string(zmq.LAST_ENDPOINT)
        else:
            self._socket.connect(self.address)

    @property
    def socket(self) -> zmq.Socket[bytes]:
        assert self._socket is not None, "publisher is closed"
        return self._socket

    def _send(self, frame: Frame) -> bool:
        try:
            # PUB never blocks: past the high-water mark ZeroMQ drops the message.
            send_parts(self.socket, protocol.encode(frame))
        except zmq.Again:
            self.stats.dropped += 1
            return False
        self.stats.sent += 1
        self.stats.bytes += frame.nbytes
        return True

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close(linger=0)
            self._socket = None

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class BackgroundSender:
    """Runs a sender in its own thread and always sends the newest frame offered.

    ``offer`` never blocks; a frame replaced before the thread got to it is counted in
    ``superseded``. Video frames go through a :class:`~camhub.video.gop.GopQueue`:
    every packet of a group in order while the sender keeps up, the rest of a group
    dropped when it does not (``gop_drops``; ``on_keyframe_needed`` asks the encoder for
    a keyframe, on the queue's and the sender's behalf). Encoding of raw frames to JPEG
    (``quality``) happens on the thread, overlapping with the caller's capture work.
    """

    def __init__(
        self,
        sender: Sender | Publisher,
        *,
        quality: int | None = None,
        on_keyframe_needed: KeyframeRequest | None = None,
        maxsize: int = 64,
    ) -> None:
        self.sender = sender
        self.quality = quality
        if on_keyframe_needed is not None:
            sender.on_keyframe_needed = on_keyframe_needed
        self._queue = GopQueue(maxsize, on_keyframe_needed=on_keyframe_needed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="camhub-sender", daemon=True)
        self._thread.start()

    @property
    def superseded(self) -> int:
        """Frames replaced by a newer one before the thread got to them."""
        return self._queue.superseded

    @property
    def gop_drops(self) -> int:
        """Video frames dropped with the rest of their group (the sender fell behind)."""
        return self._queue.gop_drops

    def offer(self, frame: Frame) -> None:
        self._queue.put(frame)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                frame = self._queue.get(timeout=0.2)
            except (TimeoutError, EOFError):
                continue
            if self.quality is not None and frame.jpeg is None and frame.video is None:
                frame.to_jpeg(self.quality)
                frame.array = None
            try:
                self.sender.send_frame(frame)
            except SendTimeout:
                pass

    def close(self) -> None:
        self._stop.set()
        self._queue.close()
        self._thread.join(timeout=5)
        self.sender.close()
