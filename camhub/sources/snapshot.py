"""JPEG snapshot polling (IP Webcam's ``/shot.jpg``): one GET per frame at a set rate,
over a keep-alive connection. Useful where a stream is too heavy for the phone."""

from __future__ import annotations

import time

from camhub.jpeg import JpegError, jpeg_size
from camhub.sources.base import SourceTimeouts, ThreadedSource
from camhub.sources.httpconn import HTTPGetter, web_page_hint
from camhub.sources.registry import OpenOptions, SourceForm, SourceKind, register_source
from camhub.sources.uri import SourceSpec, host_name
from camhub.types import ArgumentError

MAX_SNAPSHOT = 32 * 1024 * 1024


class SnapshotSource(ThreadedSource):
    kind = "snapshot"
    own_jpeg = True

    def __init__(
        self,
        spec: SourceSpec,
        name: str,
        rate: float = 5.0,
        timeouts: SourceTimeouts | None = None,
        verify_tls: bool = True,
    ) -> None:
        super().__init__(spec.display, name, timeouts, spec.secrets())
        if not 0 < rate <= 120:
            raise ArgumentError(f"snapshot rate must be in (0, 120] per second, got {rate}")
        self.rate = rate
        self._http = HTTPGetter(spec, self.timeouts.open, self.timeouts.read, verify_tls)

    def _stream(self) -> None:
        period = 1.0 / self.rate
        next_at = time.monotonic()
        try:
            while not self.stopping:
                captured_at = time.time()
                response = self._http.get()
                length = response.getheader("Content-Length")
                if length is not None and length.isdigit() and int(length) > MAX_SNAPSHOT:
                    raise OSError(f"snapshot of {length} bytes is over {MAX_SNAPSHOT}")
                # With a length, read() takes exactly that; otherwise cap it.
                jpeg = response.read() if length is not None else response.read(MAX_SNAPSHOT + 1)
                if len(jpeg) > MAX_SNAPSHOT:
                    raise OSError(f"snapshot is over {MAX_SNAPSHOT} bytes")
                try:
                    width, height = jpeg_size(jpeg)
                except JpegError as exc:
                    ctype = response.getheader("Content-Type") or "unknown type"
                    hint = web_page_hint(ctype, self.display)
                    if hint is not None:
                        raise OSError(hint) from None
                    raise OSError(f"{self.display} sent no JPEG ({ctype}): {exc}") from None
                if response.will_close:
                    self._http.close()
                # The request time is closer to the moment of exposure than the reply time.
                self._emit(jpeg=jpeg, width=width, height=height, captured_at=captured_at)
                next_at = max(next_at + period, time.monotonic())
                if self._stop.wait(max(0.0, next_at - time.monotonic())):
                    return
        finally:
            self._http.close()

    def _interrupt(self) -> None:
        self._http.close()


def _open(spec: SourceSpec, name: str, options: OpenOptions) -> SnapshotSource:
    return SnapshotSource(spec, name, options.rate, options.timeouts, options.verify_tls)


# No scheme of its own: http(s) URLs ending .jpg reach it (see :mod:`.mjpeg`), and
# ipwebcam://H?mode=snapshot.
register_source(
    SourceKind(
        "snapshot",
        _open,
        forms=(
            SourceForm(
                "http://HOST:PORT/shot.jpg",
                "http://HOST/shot.jpg (snapshots)",
                "JPEG snapshots, polled --rate times a second",
            ),
        ),
        name_of=host_name,
    )
)
