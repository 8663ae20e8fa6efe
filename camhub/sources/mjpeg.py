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
from camhub.sources.uri import SourceSpec

READ_SIZE = 64 * 1024


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
