"""A small MJPEG-over-HTTP camera in Python, for what ffmpeg's server cannot vary: chunked
or plain bodies, parts with or without Content-Length, Basic auth, ``/shot.jpg``
snapshots, and frames stamped with their send time (a JPEG comment segment holding
``time.time()``), which lets a test measure how old a received frame is."""

from __future__ import annotations

import base64
import contextlib
import itertools
import socket
import struct
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

STAMP_MARK = b"camhub-sent="


def stamp_jpeg(jpeg: bytes, sent_at: float) -> bytes:
    """``jpeg`` with a COM segment holding ``sent_at`` right after the SOI marker."""
    text = STAMP_MARK + repr(sent_at).encode()
    return jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(text) + 2) + text + jpeg[2:]


def read_stamp(jpeg: bytes) -> float | None:
    """The send time put in by :func:`stamp_jpeg`, if any."""
    if jpeg[2:4] != b"\xff\xfe":
        return None
    (length,) = struct.unpack(">H", jpeg[4:6])
    text = jpeg[6 : 4 + length]
    return float(text[len(STAMP_MARK) :]) if text.startswith(STAMP_MARK) else None


class PyMJPEGServer:
    def __init__(
        self,
        jpegs: Sequence[bytes],
        fps: float = 15.0,
        *,
        chunked: bool = False,
        part_length: bool = True,
        auth: tuple[str, str] | None = None,
        boundary: str = "camhubtest",
        stamp: bool = False,
        port: int = 0,
    ) -> None:
        self.jpegs = list(jpegs)
        self.fps = fps
        self.chunked = chunked
        self.part_length = part_length
        self.auth = auth
        self.boundary = boundary
        self.stamp = stamp
        self.port = port
        self.sent = 0
        self.requests: list[str] = []
        self._stop = threading.Event()
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/video"

    def base(self, user_info: str = "") -> str:
        return f"http://{user_info}127.0.0.1:{self.port}"

    def start(self) -> PyMJPEGServer:
        self._stop.clear()
        handler = type("Handler", (_Handler,), {"camera": self})
        httpd = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        httpd.daemon_threads = True
        self._httpd = httpd
        self.port = int(httpd.server_address[1])
        self._thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop at once, cutting every open stream (a camera that vanishes)."""
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> PyMJPEGServer:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def next_jpeg(self, counter: itertools.count[int]) -> bytes:
        jpeg = self.jpegs[next(counter) % len(self.jpegs)]
        return stamp_jpeg(jpeg, time.time()) if self.stamp else jpeg


class _Handler(BaseHTTPRequestHandler):
    camera: PyMJPEGServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _authorised(self) -> bool:
        cam = self.camera
        if cam.auth is None:
            return True
        expected = "Basic " + base64.b64encode(f"{cam.auth[0]}:{cam.auth[1]}".encode()).decode()
        if self.headers.get("Authorization") == expected:
            return True
        self.send_response(401, "Unauthorized")
        self.send_header("WWW-Authenticate", 'Basic realm="camera"')
        self.send_header("Content-Length", "0")
        self.end_headers()
        return False

    def do_GET(self) -> None:
        cam = self.camera
        cam.requests.append(self.path)
        if not self._authorised():
            return
        if self.path in ("/shot.jpg", "/snapshot.cgi"):
            jpeg = cam.next_jpeg(itertools.count(cam.sent))
            cam.sent += 1
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(jpeg)))
            self.end_headers()
            self.wfile.write(jpeg)
            return
        if self.path in ("/", "/index.html", "/page.jpg"):  # a camera's web UI, not a stream
            page = b"<!doctype html><html><body><h1>Camera settings</h1></body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)
            return
        if self.path != "/video":
            self.send_error(404)
            return
        with cam._lock:
            cam._conns.add(self.connection)
        try:
            self._stream()
        except OSError:
            pass  # the client went away, or the server was stopped
        finally:
            with cam._lock:
                cam._conns.discard(self.connection)
            self.close_connection = True

    def _stream(self) -> None:
        cam = self.camera
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={cam.boundary}")
        self.send_header("Cache-Control", "no-cache")
        if cam.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        counter = itertools.count()
        period = 1.0 / cam.fps
        next_at = time.monotonic()
        while not cam._stop.is_set():
            jpeg = cam.next_jpeg(counter)
            head = f"--{cam.boundary}\r\nContent-Type: image/jpeg\r\n"
            if cam.part_length:
                head += f"Content-Length: {len(jpeg)}\r\n"
            part = head.encode() + b"\r\n" + jpeg + b"\r\n"
            if cam.chunked:
                # Split each part over two chunks, as real servers do not align them.
                half = len(part) // 2
                for piece in (part[:half], part[half:]):
                    self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            else:
                self.wfile.write(part)
            self.wfile.flush()
            cam.sent += 1
            next_at += period
            cam._stop.wait(max(0.0, next_at - time.monotonic()))
