"""HTTP GET with an open timeout, a per-read timeout and Basic auth, for the MJPEG and
snapshot sources. Built on :mod:`http.client`, which also undoes chunked encoding."""

from __future__ import annotations

import base64
import contextlib
import http.client
import socket
import ssl
import threading
from urllib.parse import urlsplit

from camhub.sources.uri import SourceSpec

USER_AGENT = "camhub-source/1"


class HTTPStatusError(OSError):
    """The camera answered with an HTTP error status."""


class HTTPGetter:
    """One keep-alive connection to a camera; ``get`` may be called repeatedly and
    ``close`` from any thread unblocks a read in progress."""

    def __init__(
        self, spec: SourceSpec, open_timeout: float, read_timeout: float, verify_tls: bool = True
    ) -> None:
        self.spec = spec
        self.open_timeout = open_timeout
        self.read_timeout = read_timeout
        self.verify_tls = verify_tls
        parts = urlsplit(spec.url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()
        self._headers = {"User-Agent": USER_AGENT, "Accept": "*/*"}
        if spec.username is not None:
            token = f"{spec.username}:{spec.password or ''}".encode()
            self._headers["Authorization"] = "Basic " + base64.b64encode(token).decode()

    def _connect(self) -> http.client.HTTPConnection:
        if self._https:
            ctx = ssl.create_default_context()
            if not self.verify_tls:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                self._host, self._port, timeout=self.open_timeout, context=ctx
            )
        else:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=self.open_timeout)
        conn.connect()
        assert conn.sock is not None
        conn.sock.settimeout(self.read_timeout)
        return conn

    def get(self) -> http.client.HTTPResponse:
        """Send a GET; return the response once its status line and headers are in.

        Raises ``HTTPStatusError`` for non-2xx answers (saying what the status means
        for a camera), ``OSError``/``TimeoutError`` for network trouble.
        """
        with self._lock:
            conn = self._conn
        if conn is None:
            conn = self._connect()
            with self._lock:
                self._conn = conn
        try:
            conn.request("GET", self._target, headers=self._headers)
            response = conn.getresponse()
        except (http.client.HTTPException, OSError):
            self.close()
            raise
        if not 200 <= response.status < 300:
            self.close()
            raise HTTPStatusError(_explain(response, self.spec))
        return response

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is None:
            return
        sock = conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed by the peer
                sock.shutdown(socket.SHUT_RDWR)
        conn.close()


def _explain(response: http.client.HTTPResponse, spec: SourceSpec) -> str:
    status = f"HTTP {response.status} {response.reason}".strip()
    if response.status == 401:
        scheme = (response.getheader("WWW-Authenticate") or "").split(" ", 1)[0]
        if spec.username is None:
            return (
                f"{status}: the camera wants a login; put it in the URL (http://USER:PASS@HOST...)"
            )
        if scheme and scheme.lower() != "basic":
            return f"{status}: the camera wants {scheme} auth; only Basic is supported"
        return f"{status}: the camera refused the user name or password"
    if response.status == 404:
        return f"{status}: no stream at {spec.display}; check the path"
    return status


def web_page_hint(content_type: str, display: str) -> str | None:
    """A hint when a camera URL answers with a web page instead of pictures (the camera
    app's settings page, a login form, a router): the usual cause is a wrong path."""
    if not content_type.lower().startswith(("text/html", "application/xhtml")):
        return None
    return (
        f"{display} returned a web page ({content_type.split(';')[0]}), not a camera stream: "
        "check the path (IP Webcam and DroidCam: /video, or use ipwebcam://HOST or "
        "droidcam://HOST; other cameras: see their manual for the MJPEG or snapshot URL)"
    )
