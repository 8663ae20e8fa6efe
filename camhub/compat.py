"""Drop-in ``ImageSender`` and ``ImageHub`` with imagezmq 1.2.0's API.

``import camhub as imagezmq`` is enough for imagezmq's tutorial code. What changes:

* a send never hangs: if the hub does not answer within ``timeout`` seconds (default 3)
  the frame is dropped, ``send_image``/``send_jpg`` return ``None`` and one warning is
  logged per outage; the next send reconnects by itself. ``on_timeout="raise"`` raises
  :class:`~camhub.types.SendTimeout` instead;
* ``close()`` never blocks;
* the hub answers malformed messages with an error reply instead of crashing, and one
  socket serves many senders without one slow sender holding up the rest. It binds
  ROUTER where imagezmq binds REP (the wire is the same), so no hostile peer can leave
  it unable to answer the next sender (docs/security.md);
* in PUB/SUB mode the hub keeps only the newest frame per camera, so it never lags.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Literal

import numpy as np
import zmq

from camhub import protocol
from camhub.hub import Hub
from camhub.jpeg import JpegError, decode_jpeg
from camhub.protocol import Limits, ProtocolError
from camhub.sender import OnTimeout, Publisher, Sender
from camhub.transport import (
    SocketSecurity,
    check_endpoint,
    context,
    new_socket,
)
from camhub.types import CamhubError, Frame, Image, ReceiveTimeout

log = logging.getLogger("camhub.compat")


class ImageSender:
    """imagezmq's ``ImageSender``: REQ/REP (connects) or PUB/SUB (binds ``connect_to``)."""

    def __init__(
        self,
        connect_to: str = "tcp://127.0.0.1:5555",
        REQ_REP: bool = True,
        *,
        timeout: float = 3.0,
        on_timeout: OnTimeout = "drop",
        security: SocketSecurity | None = None,
    ) -> None:
        self.REQ_REP = REQ_REP
        self._sender: Sender | Publisher
        if REQ_REP:
            # imagezmq's exact header: in lock-step nothing is lost unseen, and every
            # frame's round trip is its latency, so the stamps would add only cost.
            self._sender = Sender(
                connect_to,
                window=1,
                timeout=timeout,
                on_timeout=on_timeout,
                security=security,
                stamp=False,
            )
        else:
            self._sender = Publisher(connect_to, bind=True, security=security)

    @property
    def zmq_socket(self) -> zmq.Socket[bytes]:
        return self._sender.socket

    @property
    def zmq_context(self) -> zmq.Context[zmq.Socket[bytes]]:
        return context()

    def _send(self, frame: Frame) -> bytes | None:
        if isinstance(self._sender, Sender):
            return self._sender.request(frame)
        self._sender.send_frame(frame)
        return None

    def send_image(self, msg: str, image: Image) -> bytes | None:
        """Send an OpenCV image; returns the hub's reply (``None`` in PUB/SUB mode or if
        the frame was dropped because the hub did not answer in time)."""
        return self._send(Frame(name=msg, array=protocol.c_contiguous(image)))

    def send_jpg(self, msg: str, jpg_buffer: bytes | memoryview | Image) -> bytes | None:
        """Send JPEG bytes; same return value as :meth:`send_image`."""
        if isinstance(jpg_buffer, np.ndarray):
            jpg_buffer = jpg_buffer.tobytes()  # imagezmq users often pass cv2.imencode output
        return self._send(Frame(name=msg, jpeg=bytes(jpg_buffer)))

    @property
    def stats(self) -> Any:
        return self._sender.stats

    def close(self) -> None:
        self._sender.close()

    def __enter__(self) -> ImageSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


COMPAT_LIMITS = Limits(max_payload=1024 * 1024 * 1024)
"""The compat ``ImageHub``'s bounds: imagezmq has none, so only a payload over 1 GiB (or a
JSON header over 16 KiB) is refused; see docs/protocol.md, "Deliberate refusals"."""

# Plain ints: pyzmq's enums (and its sockopt attributes) cost microseconds per use.
_NOBLOCK = int(zmq.NOBLOCK)
_MORE = int(zmq.NOBLOCK | zmq.SNDMORE)
_send = zmq.backend.Socket.send
"""pyzmq's send without the Python layer that ``zmq.Socket.send`` adds for DRAFT
sockets (routing ids, groups): that layer costs about 0.6 us a call, and a reply is
three calls (routing id, delimiter, reply)."""
_MAX_HOPS = 64
"""Most routing hops kept for a reply, between the routing id and the delimiter (a REQ
sender has none, each proxy on the way adds one): a hostile message cannot make the hub
keep more."""

Want = Literal["image", "jpg", "frame"]
"""What the caller asked for: ``recv_image``, ``recv_jpg`` or ``recv_frame``."""

_NOT_AN_IMAGE = "; recv_jpg() returns any payload as bytes"


def _from_frame(frame: Frame, want: Want) -> Any:
    """PUB/SUB: the background hub hands over decoded frames."""
    if want == "frame":
        return frame
    if want == "jpg":  # as imagezmq: the payload as it travelled, whatever it holds
        if frame.video is not None:
            return frame.video.data
        if frame.jpeg is not None:
            return frame.jpeg
        return frame.array.tobytes() if frame.array is not None else frame.payload or b""
    if frame.array is None:
        if frame.video is not None:  # the background hub's decoder made its picture
            return frame.image
        if frame.jpeg is None:
            raise JpegError("payload is not a JPEG camhub can decode" + _NOT_AN_IMAGE)
        frame.array = decode_jpeg(frame.jpeg)
    return frame.array


class ImageHub:
    """imagezmq's ``ImageHub``: REQ/REP (binds ``open_port``) or PUB/SUB (connects).

    ``recv_image``/``recv_jpg`` wait for the next frame; pass ``timeout`` (seconds) to get
    ``TimeoutError`` instead of waiting forever. ``recv_jpg`` returns every payload's
    bytes as imagezmq does (a raw array's bytes, a PNG's bytes...); ``recv_image`` also
    decodes JPEG frames. A message that cannot be turned into what was asked for (a
    malformed message, a PNG for ``recv_image``, a corrupt JPEG) is answered with
    ``ERR <reason>``, counted in :attr:`malformed` and skipped: it never raises out of
    the caller's loop.
    """

    def __init__(
        self,
        open_port: str = "tcp://*:5555",
        REQ_REP: bool = True,
        *,
        limits: Limits = COMPAT_LIMITS,
        security: SocketSecurity | None = None,
    ) -> None:
        self.REQ_REP = REQ_REP
        self.limits = limits
        self._malformed = 0
        self._last_logged = -10.0
        self._reply_to: list[bytes] | None = None
        """The envelope of the request received and not yet answered (routing id, any
        further hops, the empty delimiter); ``None`` when nothing awaits a reply."""
        self._last_raw: protocol.Buffer = b""
        self._last_header: dict[str, Any] = {}
        """The last header that passed :func:`protocol.envelope`, parsed (only read,
        never handed out, so it is shared)."""
        max_size = limits.max_payload + limits.max_header + 1024
        if REQ_REP:
            addr = check_endpoint(open_port, what="hub bind address", bind=True)
            # ROUTER, not imagezmq's REP: the envelope is kept here and each reply is
            # routed by it, so no peer can leave the socket unable to answer the next one.
            # (A REP socket that reads a message without an empty delimiter after libzmq
            # stopped writing to its sender, gone or not reading, silently drops the next
            # reply it sends; a lock-step imagezmq sender then waits forever.) ROUTER is
            # fair-queued over its senders and hands over whole messages only, so a slow
            # or dead sender never holds up the others, and a reply to a peer that is
            # gone or not reading is dropped, never waited for.
            self.zmq_socket = new_socket(
                zmq.ROUTER, hwm=1000, max_msg_size=max_size, security=security, server=True
            )
            self.zmq_socket.setsockopt(zmq.RCVTIMEO, 100)
            self.zmq_socket.bind(addr)
        else:
            # A background hub drains the SUB socket continuously and keeps the newest
            # frame per camera, so a slow caller never works through a stale backlog.
            self._hub = Hub(None, subscribe_to=open_port, limits=limits, security=security)
            self._feed = self._hub.frames()
            self._hub.start()
        self.zmq_context = context()

    @property
    def endpoint(self) -> str:
        return self.zmq_socket.getsockopt_string(zmq.LAST_ENDPOINT)

    def connect(self, open_port: str) -> None:
        """PUB/SUB mode: also receive from the sender publishing at ``open_port``."""
        if not self.REQ_REP:
            self._hub.connect(open_port)

    def _next_reqrep(
        self, deadline: float | None, want: Want
    ) -> tuple[dict[str, Any], list[protocol.Buffer]]:
        """The next well-formed message: its parsed header and its frames."""
        if self._reply_to is not None:
            # The caller never replied to the last frame. imagezmq would raise here; its
            # sender would wait forever, so it gets an ERR instead.
            log.debug("previous frame was never replied to; answering it with an error")
            self._answer(protocol.error_reply("the hub did not reply to this frame"))
        sock = self.zmq_socket
        while True:
            # A blocking receive with a short RCVTIMEO: one call per frame when busy, and
            # Ctrl-C and the caller's timeout are still honoured promptly when idle.
            try:
                peer = sock.recv()  # ROUTER's first part: the sender's routing id
            except zmq.Again:
                if deadline is not None and time.monotonic() >= deadline:
                    raise ReceiveTimeout("no frame received within the timeout") from None
                continue
            # ZeroMQ delivers a multipart message whole: the rest is there at once.
            # Zero-copy frames tell whether more parts follow (``more``) without a
            # getsockopt call each.
            part = sock.recv(_NOBLOCK, copy=False)
            if part.more and not len(part):  # what a REQ sender puts first: go on
                self._reply_to = [peer, b""]
            else:  # a proxy's hops, or no delimiter at all
                self._reply_to = self._envelope(peer, part)
                if self._reply_to is None:
                    continue
            # recv_jpg returns bytes anyway, so its payload is copied out at once;
            # otherwise it stays in ZeroMQ's buffer, and recv_image of a raw array
            # copies nothing.
            head = sock.recv(_NOBLOCK, copy=False)
            body: list[protocol.Buffer] = [head.bytes]
            part = head
            while part.more:
                part = sock.recv(_NOBLOCK, copy=False)
                body.append(part.bytes if want == "jpg" else part.buffer)
            raw = body[0]
            # An imagezmq sender repeats its camera's header byte for byte: the checks
            # it passed hold again, but for the payload's size.
            if raw == self._last_raw and len(body) == 2 and len(body[1]) <= self.limits.max_payload:
                return self._last_header, body
            try:
                header = protocol.envelope(body, self.limits, any_name=True)[0]
            except ProtocolError as exc:
                self._refuse(str(exc))
                continue
            except Exception as exc:  # a decoder bug must not end the caller's loop
                self._refuse(f"undecodable message ({exc!r:.100})")
                continue
            self._last_raw, self._last_header = raw, header
            return header, body

    def _envelope(self, peer: bytes, part: zmq.Frame) -> list[bytes] | None:
        """The envelope of a message that does not start with REQ's lone delimiter:
        the hops proxies added (``part`` is the first), then the delimiter, with the
        routing id in front; the reply goes back by it. A message with no delimiter has
        no way back, nor one with more hops than :data:`_MAX_HOPS`: it is read to its
        end, counted and dropped (imagezmq's REP socket drops such a message unseen)."""
        sock = self.zmq_socket
        envelope = [peer]
        hops = 0
        while part.more:
            if len(part) == 0 and hops <= _MAX_HOPS:
                envelope.append(b"")
                return envelope
            hops += 1
            if hops <= _MAX_HOPS:
                envelope.append(part.bytes)
            part = sock.recv(_NOBLOCK, copy=False)
        if hops > _MAX_HOPS:
            self._refuse(f"more than {_MAX_HOPS} frames before the empty delimiter frame")
        else:
            self._refuse("no empty delimiter frame before the message (send from REQ)")
        return None

    def _from_message(self, header: dict[str, Any], body: list[protocol.Buffer], want: Want) -> Any:
        """REQ/REP: turn a message into what was asked for, decoding only what must be."""
        payload = body[1]
        if want == "jpg":  # as imagezmq: the payload as it travelled, whatever it holds
            return bytes(payload)
        if want == "frame":
            return protocol.decode(body, self.limits, any_name=True)
        if "dtype" in header or "shape" in header:
            return protocol.decode_array(header, payload)
        try:
            return decode_jpeg(payload, self.limits.max_pixels)
        except JpegError as exc:
            raise JpegError(str(exc) + _NOT_AN_IMAGE) from None

    def _refuse(self, reason: str) -> None:
        """Count and skip the current message; a REQ/REP sender gets ``ERR <reason>``."""
        self._malformed += 1
        now = time.monotonic()
        if now - self._last_logged >= 10.0:  # a flood must not flood the log too
            log.warning("ignoring message (%d so far): %s", self._malformed, reason)
            self._last_logged = now
        if self.REQ_REP and self._reply_to is not None:
            self._answer(protocol.error_reply(reason))

    def _answer(self, reply: bytes) -> None:
        if type(reply) is not bytes:
            # Check before the envelope goes out: a reply that fails after it (a str)
            # would leave ROUTER mid-message, and the next reply would go astray.
            # TypeError, as from imagezmq; the frame stays unanswered, so the next
            # receive answers it with an ERR.
            reply = bytes(memoryview(reply))
        envelope, self._reply_to = self._reply_to, None
        assert envelope is not None
        sock = self.zmq_socket
        try:
            for part in envelope:
                _send(sock, part, _MORE)
            _send(sock, reply, _NOBLOCK)
        except zmq.ZMQError as exc:  # ROUTER drops unroutable replies: only on close
            log.debug("reply not delivered: %s", exc)

    def _next_pubsub(self, deadline: float | None) -> Frame:
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        return self._feed.next(remaining)

    @property
    def malformed(self) -> int:
        """Messages answered with ``ERR`` and skipped: malformed, or not convertible to
        what was asked for (PUB/SUB: also those the background hub refused). REQ/REP
        also counts messages dropped unanswered because they had no way back (no empty
        delimiter frame, as a REQ socket sends)."""
        return self._malformed + (0 if self.REQ_REP else self._hub.malformed)

    @property
    def skipped(self) -> int:
        """PUB/SUB frames never returned because a newer one from the same camera came."""
        return 0 if self.REQ_REP else self._feed.skipped_total

    def _receive(self, timeout: float | None, want: Want) -> tuple[str, Any]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                if self.REQ_REP:
                    header, body = self._next_reqrep(deadline, want)
                    return header["msg"], self._from_message(header, body, want)
                frame = self._next_pubsub(deadline)
                return frame.name, _from_frame(frame, want)
            except TimeoutError:
                raise
            except Exception as exc:  # JpegError mostly; nothing may end the caller's loop
                self._refuse(str(exc) if isinstance(exc, CamhubError) else repr(exc))

    def recv_frame(self, timeout: float | None = None) -> Frame:
        """The next frame with all its metadata (camhub extension)."""
        frame: Frame = self._receive(timeout, "frame")[1]
        return frame

    def recv_image(self, copy: bool = False, timeout: float | None = None) -> tuple[str, Image]:
        return self._receive(timeout, "image")

    def recv_jpg(self, copy: bool = False, timeout: float | None = None) -> tuple[str, bytes]:
        return self._receive(timeout, "jpg")

    def send_reply(self, reply_message: bytes = b"OK") -> None:
        """Answer the sender of the last frame (REQ/REP mode; a no-op for PUB/SUB)."""
        if not self.REQ_REP:
            return
        if self._reply_to is None:
            log.warning("send_reply() called with no frame waiting for a reply; ignored")
            return
        self._answer(reply_message)

    def close(self) -> None:
        if self.REQ_REP:
            self.zmq_socket.close(linger=0)
        else:
            self._hub.stop()

    def __enter__(self) -> ImageHub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
