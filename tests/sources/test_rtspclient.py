"""The RTSP client against scripted servers on 127.0.0.1, for what GStreamer's server
never does (tests/sources/test_rtsp.py plays against the real one): an HTTP server, a
short session timeout, requests from the camera, stray bytes between packets."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from camhub.sources.rtspclient import RTSPClient, RTSPError

SDP = (
    "v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
    "a=control:rtsp://127.0.0.1/cam/track1\r\n"
)


class Script:
    """A one-connection server: ``serve(conn, requests)`` plays its part; every request
    line it reads is kept in ``requests``."""

    def __init__(self, serve: Callable[[Script, socket.socket], None]) -> None:
        self.serve = serve
        self.requests: list[str] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.done = threading.Event()
        self._buf = b""
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        conn, _ = self.listener.accept()
        conn.settimeout(10)
        try:
            self.serve(self, conn)
        except OSError:
            pass
        finally:
            self.done.set()
            conn.close()

    def request(self, conn: socket.socket) -> tuple[str, str]:
        """The next request: (method, CSeq)."""
        while b"\r\n\r\n" not in self._buf:
            chunk = conn.recv(4096)
            if not chunk:
                raise ConnectionResetError
            self._buf += chunk
        head, self._buf = self._buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        self.requests.append(lines[0])
        cseq = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("CSeq"))
        return lines[0].split()[0], cseq

    @staticmethod
    def answer(conn: socket.socket, cseq: str, extra: str = "", body: str = "") -> None:
        length = f"Content-Length: {len(body.encode())}\r\n" if body else ""
        conn.sendall(f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n{extra}{length}\r\n{body}".encode())

    def play(self, conn: socket.socket, session: str = "s1;timeout=60") -> None:
        """Answer OPTIONS, DESCRIBE, SETUP and PLAY."""
        for method in ("OPTIONS", "DESCRIBE", "SETUP", "PLAY"):
            got, cseq = self.request(conn)
            assert got == method
            if method == "OPTIONS":
                self.answer(conn, cseq, "Public: OPTIONS, DESCRIBE, SETUP, PLAY, GET_PARAMETER\r\n")
            elif method == "DESCRIBE":
                self.answer(conn, cseq, "Content-Base: rtsp://127.0.0.1/cam/\r\n", SDP)
            elif method == "SETUP":
                extra = f"Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nSession: {session}\r\n"
                self.answer(conn, cseq, extra)
            else:
                self.answer(conn, cseq, "Session: s1\r\n")


@contextmanager
def client_for(script: Script, **kw: float) -> Iterator[RTSPClient]:
    client = RTSPClient(f"rtsp://127.0.0.1:{script.port}/cam", open_timeout=5, read_timeout=5, **kw)
    try:
        yield client
    finally:
        client.close()
        script.listener.close()


def interleaved(channel: int, payload: bytes) -> bytes:
    return bytes([0x24, channel]) + len(payload).to_bytes(2, "big") + payload


def test_an_http_answer_says_it_is_not_rtsp() -> None:
    def serve(script: Script, conn: socket.socket) -> None:
        script.request(conn)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        script.done.wait(5)

    script = Script(serve)
    with client_for(script) as client, pytest.raises(RTSPError, match="speaks HTTP, not RTSP"):
        client.open()


def test_keepalives_camera_requests_and_stray_bytes() -> None:
    answered = threading.Event()

    def serve(script: Script, conn: socket.socket) -> None:
        script.play(conn, session="s1;timeout=2")  # keep it alive every second
        conn.sendall(interleaved(0, b"first"))
        # The camera pings us, and a buggy one puts junk between packets.
        conn.sendall(b"GET_PARAMETER rtsp://127.0.0.1/cam RTSP/1.0\r\nCSeq: 77\r\n\r\n")
        conn.sendall(b"\x00\x01junk" + interleaved(1, b"rtcp") + interleaved(0, b"second"))
        reply = conn.recv(4096)
        if reply.startswith(b"RTSP/1.0 200 OK\r\nCSeq: 77"):
            answered.set()
        _method, cseq = script.request(conn)  # the client's keepalive, after ~1 s
        script.answer(conn, cseq)
        conn.sendall(interleaved(0, b"third"))
        script.done.wait(5)

    script = Script(serve)
    with client_for(script) as client:
        track = client.open()
        assert (track.media.codec, track.rtp_channel, track.rtcp_channel) == ("h264", 0, 1)
        got = [client.read() for _ in range(4)]
        assert got == [(0, b"first"), (1, b"rtcp"), (0, b"second"), (0, b"third")]
        assert client.garbage == 6
    assert answered.is_set(), "the camera's GET_PARAMETER is answered"
    assert script.requests[3].startswith("PLAY rtsp://127.0.0.1/cam/ ")
    assert script.requests[1].startswith("DESCRIBE rtsp://127.0.0.1:")
    assert script.requests[2].startswith("SETUP rtsp://127.0.0.1/cam/track1 ")
    assert script.requests[4].startswith("GET_PARAMETER rtsp://127.0.0.1/cam/ ")


def test_a_camera_that_will_not_send_over_tcp_is_refused() -> None:
    def serve(script: Script, conn: socket.socket) -> None:
        for _ in range(3):
            method, cseq = script.request(conn)
            if method == "DESCRIBE":
                script.answer(conn, cseq, "", SDP)
            elif method == "SETUP":
                script.answer(conn, cseq, "Transport: RTP/AVP;unicast;client_port=5000-5001\r\n")
            else:
                script.answer(conn, cseq)
        script.done.wait(5)

    script = Script(serve)
    with client_for(script) as client, pytest.raises(RTSPError, match="over TCP"):
        client.open()


def test_a_silent_camera_times_out() -> None:
    def serve(script: Script, conn: socket.socket) -> None:
        script.play(conn)
        script.done.wait(5)

    script = Script(serve)
    client = RTSPClient(f"rtsp://127.0.0.1:{script.port}/cam", open_timeout=5, read_timeout=0.3)
    try:
        client.open()
        with pytest.raises(TimeoutError):
            client.read()
    finally:
        client.close()
        script.done.set()
        script.listener.close()
