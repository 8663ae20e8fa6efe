"""A small RTSP client (RFC 2326) for one camera's video track, RTP interleaved over the
RTSP connection (TCP, or TLS for ``rtsps://``), the way go2rtc and Moonfire NVR read
cameras: the raw RTP packets (with their marker bits and timestamps) and RTCP sender
reports come to camhub as they arrive, which FFmpeg's demuxer does not give.

:meth:`RTSPClient.open` runs DESCRIBE, SETUP and PLAY (with Basic or Digest
authentication when the camera asks); :meth:`RTSPClient.read` returns the next
interleaved packet, answering the camera's own requests and keeping the session alive.
Every socket operation has a timeout.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import socket
import ssl
import time
from collections import deque
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

from camhub.errors import SourceError
from camhub.sources.sdp import Media, SDPError, parse_sdp

USER_AGENT = "camhub"
MAX_HEADER = 64 * 1024
"""Longest RTSP header block accepted before the connection is called garbage."""
MAX_BODY = 1024 * 1024
_MESSAGE = re.compile(rb"RTSP/\d|[A-Z_]{3,20} \S")
"""A response's status line, or a request line from the camera."""
_PARTIAL = re.compile(rb"RTSP/?|R|RT|RTS|HTTP/?|H|HT|HTT|[A-Z_]{1,20} ?")
RTSP_PORT, RTSPS_PORT = 554, 322


class RTSPError(SourceError, OSError):
    """The camera answered, but not in a way that lets camhub play its video."""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    reason: str
    headers: dict[str, list[str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None


@dataclass(frozen=True, slots=True)
class Track:
    """The video track being played."""

    media: Media
    rtp_channel: int
    rtcp_channel: int


class _Auth:
    """Answers a camera's Basic or Digest challenge (RFC 2617, MD5; SHA-256 where the
    camera asks for it)."""

    def __init__(self, username: str, password: str, challenges: list[str]) -> None:
        self.username, self.password = username, password
        digest = [c for c in challenges if c.lower().startswith("digest")]
        self.scheme = "digest" if digest else "basic"
        self.params = _auth_params(digest[0][6:]) if digest else {}
        self.count = 0

    def header(self, method: str, uri: str) -> str:
        if self.scheme == "basic":
            token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            return f"Basic {token}"
        p = self.params
        algorithm = p.get("algorithm", "MD5")
        name = "sha256" if algorithm.upper().startswith("SHA-256") else "md5"

        def h(text: str) -> str:
            return hashlib.new(name, text.encode()).hexdigest()

        realm, nonce = p.get("realm", ""), p.get("nonce", "")
        ha1 = h(f"{self.username}:{realm}:{self.password}")
        ha2 = h(f"{method}:{uri}")
        fields = [f'username="{self.username}"', f'realm="{realm}"', f'nonce="{nonce}"',
                  f'uri="{uri}"']  # fmt: skip
        if "auth" in [q.strip() for q in p.get("qop", "").split(",")]:
            self.count += 1
            nc, cnonce = f"{self.count:08x}", os.urandom(8).hex()
            response = h(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
            fields += ["qop=auth", f"nc={nc}", f'cnonce="{cnonce}"']
        else:
            response = h(f"{ha1}:{nonce}:{ha2}")
        fields.append(f'response="{response}"')
        if "opaque" in p:
            fields.append(f'opaque="{p["opaque"]}"')
        if "algorithm" in p:
            fields.append(f"algorithm={algorithm}")
        return "Digest " + ", ".join(fields)


def _auth_params(text: str) -> dict[str, str]:
    return {
        m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
        for m in re.finditer(r'(\w+)\s*=\s*(?:"([^"]*)"|([^,\s]+))', text)
    }


class RTSPClient:
    """One RTSP session playing one camera's video track over the RTSP connection."""

    def __init__(
        self,
        url: str,
        *,
        open_timeout: float = 5.0,
        read_timeout: float = 5.0,
        verify_tls: bool = True,
    ) -> None:
        parts = urlsplit(url)
        self.username = unquote(parts.username) if parts.username is not None else None
        self.password = unquote(parts.password or "")
        self.tls = parts.scheme.lower() == "rtsps"
        self.host = parts.hostname or ""
        self.port = parts.port or (RTSPS_PORT if self.tls else RTSP_PORT)
        netloc = f"[{self.host}]" if ":" in self.host else self.host
        if parts.port is not None:
            netloc += f":{parts.port}"
        self.url = urlunsplit(parts._replace(netloc=netloc))
        """The URL without credentials: the one requests name."""
        self.open_timeout, self.read_timeout = open_timeout, read_timeout
        self.verify_tls = verify_tls
        self._sock: socket.socket | None = None
        self._buf = bytearray()
        self._pos = 0
        """Where unread bytes start in ``_buf`` (see :meth:`read`)."""
        self._cseq = 0
        self._auth: _Auth | None = None
        self._session: str | None = None
        self._keepalive = 30.0
        self._last_request = 0.0
        self._keepalive_method = "OPTIONS"
        self._aggregate = self.url
        """The URL that names the whole session (PLAY, keepalives, TEARDOWN)."""
        self._early: deque[tuple[int, bytes]] = deque()
        """Packets that arrived while a response was awaited."""
        self._deadline: float | None = None
        """While :meth:`read` waits: when it gives up (monotonic clock)."""
        self._pending: str | None = None
        """The request being waited for, during :meth:`open`."""
        self.garbage = 0
        """Bytes skipped to find the next message (a confused camera)."""

    # -- session ----------------------------------------------------------------------

    def open(self) -> Track:
        """Connect and start playing the video track; raises :class:`RTSPError` (or a
        socket error) when that fails."""
        self._connect()
        options = self._request("OPTIONS", self.url)
        public = (options.header("public") or "").upper()
        if "GET_PARAMETER" in public:
            self._keepalive_method = "GET_PARAMETER"
        described = self._request("DESCRIBE", self.url, {"Accept": "application/sdp"})
        base = described.header("content-base") or described.header("content-location") or self.url
        try:
            session = parse_sdp(described.body.decode("utf-8", "replace"))
        except SDPError as exc:
            raise RTSPError(f"the camera's stream description is unusable: {exc}") from None
        media = session.video()
        if media is None:
            kinds = ", ".join(m.kind for m in session.media)
            raise RTSPError(f"the camera offers no video (only {kinds})")
        setup = self._request(
            "SETUP",
            media.url(base),
            {"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1"},
        )
        transport = setup.header("transport") or ""
        if "interleaved" not in transport.lower() and "tcp" not in transport.upper():
            raise RTSPError(f"the camera will not send RTP over TCP (Transport: {transport})")
        channels = re.search(r"interleaved=(\d+)(?:-(\d+))?", transport)
        rtp = int(channels.group(1)) if channels else 0
        rtcp = int(channels.group(2)) if channels and channels.group(2) else rtp + 1
        session_header = setup.header("session")
        if session_header is None:
            raise RTSPError("the camera answered SETUP without a session")
        self._session, _, rest = session_header.partition(";")
        timeout = re.search(r"timeout=(\d+)", rest)
        if timeout:
            self._keepalive = max(1.0, int(timeout.group(1)) / 2)
        self._aggregate = session.url(base)
        self._request("PLAY", self._aggregate, {"Range": "npt=0.000-"})
        assert self._sock is not None
        self._sock.settimeout(self.read_timeout)
        return Track(media, rtp, rtcp)

    def read(self) -> tuple[int, bytes]:
        """The next interleaved packet as ``(channel, payload)``; ``TimeoutError`` when
        none comes within the read timeout. Keeps the session alive meanwhile."""
        if self._early:
            return self._early.popleft()
        # The common case, a whole interleaved packet already read: no call, no copy of
        # the rest of the buffer (it is compacted only now and then).
        buf, pos = self._buf, self._pos
        if len(buf) - pos >= 4 and buf[pos] == 0x24:
            end = pos + 4 + ((buf[pos + 2] << 8) | buf[pos + 3])
            if len(buf) >= end:
                packet = (buf[pos + 1], bytes(buf[pos + 4 : end]))
                if end == len(buf):
                    buf.clear()
                    end = 0
                self._pos = end
                return packet
        self._deadline = time.monotonic() + self.read_timeout
        try:
            while True:
                item = self._next_message()
                if isinstance(item, tuple):
                    return item
        finally:
            self._deadline = None

    def interrupt(self) -> None:
        """Unblock a read in progress from another thread."""
        sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        """TEARDOWN (best effort, without waiting for the answer) and close."""
        sock, self._sock = self._sock, None
        if sock is None:
            return
        try:
            if self._session is not None:
                sock.settimeout(0.5)
                sock.sendall(self._format("TEARDOWN", self._aggregate, {}))
        except OSError:
            pass
        finally:
            sock.close()

    # -- transport --------------------------------------------------------------------

    def _connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), timeout=self.open_timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.tls:
                context = ssl.create_default_context()
                if not self.verify_tls:
                    context.check_hostname = False
                    context.verify_mode = ssl.CERT_NONE
                sock = context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self._sock = sock

    def _recv(self) -> None:
        """Read what the camera sent. While playing, wake up for keepalives and give up
        at the read deadline."""
        sock = self._sock
        assert sock is not None, "RTSP client is closed"
        if self._deadline is not None:
            now = time.monotonic()
            keepalive_at = self._last_request + self._keepalive
            if now >= keepalive_at:
                self._send(self._keepalive_method, self._aggregate, {})
                keepalive_at = now + self._keepalive
            if now >= self._deadline:
                raise TimeoutError(f"no data for {self.read_timeout:g} s")
            sock.settimeout(max(0.001, min(self._deadline, keepalive_at) - now))
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                return  # a keepalive is due, or the deadline passed: the next call says
        else:
            chunk = sock.recv(65536)
        if not chunk:
            if self._pending is not None:  # it hung up on a request: it will not play
                raise RTSPError(
                    f"the server closed the connection instead of answering {self._pending}"
                )
            raise ConnectionResetError("the camera closed the connection")
        self._buf += chunk

    def _format(self, method: str, url: str, headers: dict[str, str]) -> bytes:
        self._cseq += 1
        lines = [f"{method} {url} RTSP/1.0", f"CSeq: {self._cseq}", f"User-Agent: {USER_AGENT}"]
        if self._session is not None:
            lines.append(f"Session: {self._session}")
        if self._auth is not None:
            lines.append(f"Authorization: {self._auth.header(method, url)}")
        lines += [f"{k}: {v}" for k, v in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def _send(self, method: str, url: str, headers: dict[str, str]) -> int:
        assert self._sock is not None, "RTSP client is closed"
        self._sock.sendall(self._format(method, url, headers))
        self._last_request = time.monotonic()
        return self._cseq

    def _request(self, method: str, url: str, headers: dict[str, str] | None = None) -> Response:
        """Send a request and wait for its answer, answering the camera's challenge (or a
        stale nonce) once with the credentials."""
        assert self._sock is not None
        self._sock.settimeout(self.open_timeout)
        self._pending = method
        response = self._response(self._send(method, url, headers or {}))
        challenges = response.headers.get("www-authenticate", [])
        stale = "stale=true" in " ".join(challenges).lower()
        if response.status == 401 and self.username is not None and (not self._auth or stale):
            self._auth = _Auth(self.username, self.password, challenges)
            response = self._response(self._send(method, url, headers or {}))
        if response.status == 401:
            why = (
                "wrong user name or password"
                if self.username is not None
                else "it wants a user name and password: rtsp://USER:PASS@HOST/..."
            )
            raise RTSPError(f"the camera refused {method} (401 Unauthorized: {why})")
        if response.status != 200:
            raise RTSPError(
                f"the camera answered {method} with {response.status} {response.reason}"
            )
        return response

    def _response(self, cseq: int) -> Response:
        deadline = time.monotonic() + self.open_timeout
        while True:
            item = self._next_message()
            if isinstance(item, tuple):
                if len(self._early) < 256:
                    self._early.append(item)
            elif item.header("cseq") == str(cseq):
                return item
            if time.monotonic() > deadline:
                raise TimeoutError(f"no answer within {self.open_timeout:g} s")

    def _next_message(self) -> tuple[int, bytes] | Response:
        """The next interleaved packet or response; requests from the camera are answered
        here and skipped."""
        if self._pos:
            del self._buf[: self._pos]
            self._pos = 0
        while True:
            buf = self._buf
            if not buf:
                self._recv()
            elif buf[0] == 0x24:  # '$': channel, 16-bit length, payload
                size = (buf[2] << 8) | buf[3] if len(buf) >= 4 else -1
                if size < 0 or len(buf) < 4 + size:
                    self._recv()
                    continue
                packet = (buf[1], bytes(buf[4 : 4 + size]))
                del buf[: 4 + size]
                return packet
            elif buf.startswith(b"HTTP/"):
                line = bytes(buf[: buf.find(b"\r")]).decode("latin-1", "replace")[:60]
                raise RTSPError(f"the server speaks HTTP, not RTSP ({line})")
            elif _MESSAGE.match(buf):
                response = self._message()
                if response is not None:
                    return response
            elif len(buf) < 24 and _PARTIAL.fullmatch(buf):
                self._recv()  # too short to tell yet
            else:
                # Not the start of a message: skip to the next '$' (TCP and TLS do not
                # corrupt bytes, so this is a camera's bug; count it).
                nxt = buf.find(b"$", 1)
                skip = len(buf) if nxt < 0 else nxt
                self.garbage += skip
                del buf[:skip]

    def _message(self) -> Response | None:
        """A complete RTSP message at the head of the buffer, reading until it is; requests
        from the camera are answered and ``None`` returned."""
        while (end := self._buf.find(b"\r\n\r\n")) < 0:
            if len(self._buf) > MAX_HEADER:
                raise RTSPError("the camera sent an RTSP header over 64 KiB")
            self._recv()
        head = self._buf[:end].decode("utf-8", "replace").split("\r\n")
        headers: dict[str, list[str]] = {}
        for line in head[1:]:
            key, _, value = line.partition(":")
            headers.setdefault(key.strip().lower(), []).append(value.strip())
        length = int((headers.get("content-length") or ["0"])[0] or 0)
        if not 0 <= length <= MAX_BODY:
            raise RTSPError(f"the camera sent an RTSP body of {length} bytes")
        while len(self._buf) < end + 4 + length:
            self._recv()
        body = bytes(self._buf[end + 4 : end + 4 + length])
        del self._buf[: end + 4 + length]
        first = head[0].split(" ", 2)
        if first[0].startswith("RTSP/"):
            if len(first) < 2 or not first[1].isdigit():
                raise RTSPError(f"malformed RTSP status line {head[0]!r}")
            return Response(int(first[1]), first[2] if len(first) > 2 else "", headers, body)
        # A request from the camera (a keepalive of its own, an ANNOUNCE): say OK to the
        # harmless ones, and that the rest is not implemented.
        cseq = (headers.get("cseq") or ["0"])[0]
        status = "200 OK" if first[0] in ("OPTIONS", "GET_PARAMETER") else "501 Not Implemented"
        if self._sock is not None:
            self._sock.sendall(f"RTSP/1.0 {status}\r\nCSeq: {cseq}\r\n\r\n".encode())
        return None
