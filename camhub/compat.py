"""Drop-in ``ImageSender`` and ``ImageHub`` with imagezmq 1.2.0's API.

``import camhub as imagezmq`` is enough for imagezmq's tutorial code. What changes:

* a send never hangs: if the hub does not answer within ``timeout`` seconds (default 3)
  the frame is dropped, ``send_image``/``send_jpg`` return ``None`` and one warning is
  logged per outage; the next send reconnects by itself. ``on_timeout="raise"`` raises
  :class:`~camhub.types.SendTimeout` instead;
* ``close()`` never blocks;
* the hub answers malformed messages with an error reply instead of crashing, and one
  socket serves many senders without one slow sender holding up the rest;
* in PUB/SUB mode the hub keeps only the newest frame per camera, so it never lags.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

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
    recv_parts,
    send_parts,
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
            self._sender = Sender(
                connect_to, window=1, timeout=timeout, on_timeout=on_timeout, security=security
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

T = TypeVar("T")


def _as_image(frame: Frame) -> Image:
    if frame.array is not None:
        return frame.array
    if frame.jpeg is None:
        raise JpegError("payload is not a JPEG camhub can decode; use recv_jpg() for it")
    frame.array = decode_jpeg(frame.jpeg)
    return frame.array


def _as_bytes(frame: Frame) -> bytes:
    # imagezmq's recv_jpg hands back the payload as it travelled, whatever it holds.
    if frame.jpeg is not None:
        return frame.jpeg
    if frame.array is not None:
        return frame.array.tobytes()
    return frame.payload or b""


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
        self._envelope: list[zmq.Frame] | None = None
        max_size = limits.max_payload + limits.max_header + 1024
        if REQ_REP:
            addr = check_endpoint(open_port, what="hub bind address", bind=True)
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

    def _next_reqrep(self, deadline: float | None) -> Frame:
        while True:
            # A blocking receive with a short RCVTIMEO: one call per frame when busy, and
            # Ctrl-C and the caller's timeout are still honoured promptly when idle.
            try:
                parts = recv_parts(self.zmq_socket, wait=True)
            except zmq.Again:
                if deadline is not None and time.monotonic() >= deadline:
                    raise ReceiveTimeout("no frame received within the timeout") from None
                continue
            split = 2 if len(parts) > 2 and len(parts[1]) == 0 else 1
            envelope, body = parts[:split], parts[split:]
            if self._envelope is not None:
                log.debug("previous frame was never replied to; its sender will time out")
            self._envelope = envelope
            try:
                return protocol.decode([p.buffer for p in body], self.limits, any_name=True)
            except ProtocolError as exc:
                self._refuse(str(exc))
            except Exception as exc:  # a decoder bug must not end the caller's loop
                self._refuse(f"undecodable message ({exc!r:.100})")

    def _refuse(self, reason: str) -> None:
        """Count and skip the current message; a REQ/REP sender gets ``ERR <reason>``."""
        self._malformed += 1
        now = time.monotonic()
        if now - self._last_logged >= 10.0:  # a flood must not flood the log too
            log.warning("ignoring message (%d so far): %s", self._malformed, reason)
            self._last_logged = now
        if self.REQ_REP and self._envelope is not None:
            envelope, self._envelope = self._envelope, None
            with contextlib.suppress(zmq.ZMQError):  # the sender went away
                self.zmq_socket.send_multipart(
                    [*envelope, protocol.error_reply(reason)], zmq.NOBLOCK, copy=False
                )

    def _next_pubsub(self, deadline: float | None) -> Frame:
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        return self._feed.next(remaining)

    @property
    def malformed(self) -> int:
        """Messages answered with ``ERR`` and skipped: malformed, or not convertible to
        what was asked for (PUB/SUB: also those the background hub refused)."""
        return self._malformed + (0 if self.REQ_REP else self._hub.malformed)

    @property
    def skipped(self) -> int:
        """PUB/SUB frames never returned because a newer one from the same camera came."""
        return 0 if self.REQ_REP else self._feed.skipped_total

    def _receive(self, timeout: float | None, convert: Callable[[Frame], T]) -> tuple[Frame, T]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            frame = self._next_reqrep(deadline) if self.REQ_REP else self._next_pubsub(deadline)
            try:
                return frame, convert(frame)
            except Exception as exc:  # JpegError mostly; nothing may end the caller's loop
                self._refuse(str(exc) if isinstance(exc, CamhubError) else repr(exc))

    def recv_frame(self, timeout: float | None = None) -> Frame:
        """The next frame with all its metadata (camhub extension)."""
        return self._receive(timeout, lambda frame: frame)[0]

    def recv_image(self, copy: bool = False, timeout: float | None = None) -> tuple[str, Image]:
        frame, image = self._receive(timeout, _as_image)
        return frame.name, image

    def recv_jpg(self, copy: bool = False, timeout: float | None = None) -> tuple[str, bytes]:
        frame, data = self._receive(timeout, _as_bytes)
        return frame.name, data

    def send_reply(self, reply_message: bytes = b"OK") -> None:
        """Answer the sender of the last frame (REQ/REP mode; a no-op for PUB/SUB)."""
        if not self.REQ_REP:
            return
        if self._envelope is None:
            log.warning("send_reply() called with no frame waiting for a reply; ignored")
            return
        envelope, self._envelope = self._envelope, None
        try:
            send_parts(self.zmq_socket, [*envelope, reply_message])
        except zmq.ZMQError as exc:
            log.debug("reply not delivered (sender gone?): %s", exc)

    def close(self) -> None:
        if self.REQ_REP:
            self.zmq_socket.close(linger=0)
        else:
            self._hub.stop()

    def __enter__(self) -> ImageHub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
