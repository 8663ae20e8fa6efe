"""MJPEG over HTTP (IP Webcam's ``/video``, DroidCam, most IP cameras): the camera's
JPEG bytes are handed on untouched, so a sender forwards them without re-encoding."""

from __future__ import annotations

import http.client
from collections.abc import Callable
from typing import Protocol

from camhub.jpeg import JpegError, jpeg_size
from camhub.sources.base import SourceTimeouts, ThreadedSource
from camhub.sources.httpconn import HTTPGetter, web_page_hint
from camhub.sources.multipart import MultipartParser, boundary_from_content_type
from camhub.sources.registry import OpenOptions, SourceForm, SourceKind, register_source
from camhub.sources.uri import SourceSpec, host_name, network_spec, split_url, url_scheme

READ_SIZE = 64 * 1024
IPWEBCAM_PORT = 8080
"""Android IP Webcam's port: ``http://HOST:8080`` means its MJPEG stream."""
DROIDCAM_PORT = 4747
SNAPSHOT_SUFFIXES = (".jpg", ".jpeg")
"""An ``http://`` URL ending so is a snapshot camera (:mod:`.snapshot`), polled."""


class MJPEGSource(ThreadedSource):
    kind = "mjpeg"
    own_jpeg = True

    def __init__(
        self,
        spec: SourceSpec,
        name: str,
        timeouts: SourceTimeouts | None = None,
        verify_tls: bool = True,
    ) -> None:
        super().__init__(spec.display, name, timeouts, spec.secrets())
        self._http = HTTPGetter(spec, self.timeouts.open, self.timeouts.read, verify_tls)

    def _stream(self) -> None:
        try:
            response = self._http.get()
            self._read_parts(response)
        finally:
            self._http.close()

    def _read_parts(self, response: http.client.HTTPResponse) -> None:
        read_mjpeg(response, self.display, self._emit, lambda: self.stopping)

    def _interrupt(self) -> None:
        self._http.close()


class Emit(Protocol):
    def __call__(self, *, jpeg: bytes, width: int, height: int) -> None: ...


def read_mjpeg(
    response: http.client.HTTPResponse,
    display: str,
    emit: Emit,
    stopping: Callable[[], bool],
) -> None:
    """Hand on each JPEG of an MJPEG response until the camera closes it (return) or
    ``stopping()``; a response that is not an MJPEG stream raises ``OSError`` saying what
    it is instead."""
    content_type = response.getheader("Content-Type") or ""
    if content_type.lower().startswith("image/"):
        raise OSError(
            f"{display} sends a single image ({content_type}), not an MJPEG stream; "
            "for snapshots use a URL ending in .jpg (e.g. /shot.jpg)"
        )
    hint = web_page_hint(content_type, display)
    if hint is not None:
        raise OSError(hint)
    parser = MultipartParser(boundary_from_content_type(content_type))
    while not stopping():
        try:
            data = response.read1(READ_SIZE)
        except http.client.IncompleteRead:
            raise ConnectionError("the camera cut the stream off mid-frame") from None
        if not data:
            return  # the camera closed the stream; the source reconnects
        for jpeg in parser.feed(data):
            try:
                width, height = jpeg_size(jpeg)  # header only: microseconds
            except JpegError:
                continue  # a damaged part: skip it, keep the stream
            emit(jpeg=jpeg, width=width, height=height)


def _parse(text: str) -> SourceSpec:
    scheme = url_scheme(text)
    parts = split_url(text, scheme)
    if scheme == "droidcam":
        port = parts.port or DROIDCAM_PORT
        return network_spec("mjpeg", parts._replace(scheme="http", path="/video", query=""), port)
    if parts.path in ("", "/") and parts.port == IPWEBCAM_PORT:
        # The root page of Android "IP Webcam": its MJPEG stream lives at /video.
        return network_spec("mjpeg", parts._replace(path="/video"))
    if parts.path.lower().endswith(SNAPSHOT_SUFFIXES):
        return network_spec("snapshot", parts)
    return network_spec("mjpeg", parts)


def _open(spec: SourceSpec, name: str, options: OpenOptions) -> MJPEGSource:
    return MJPEGSource(spec, name, options.timeouts, verify_tls=options.verify_tls)


register_source(
    SourceKind(
        "mjpeg",
        _open,
        _parse,
        schemes=("http", "https", "droidcam"),
        forms=(
            SourceForm(
                "http://HOST:PORT/video",
                "http://HOST:PORT/video (MJPEG)",
                "MJPEG over HTTP (JPEGs passed through untouched)",
            ),
            SourceForm("http://HOST:8080", "", "Android IP Webcam (its /video stream)"),
            SourceForm("droidcam://HOST[:PORT]", "droidcam://HOST", "DroidCam app (port 4747)"),
        ),
        name_of=host_name,
    )
)
