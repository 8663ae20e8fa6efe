"""An incremental parser for ``multipart/x-mixed-replace`` bodies (MJPEG over HTTP).

It hands back each part's JPEG bytes exactly as the camera sent them, so a sender can
forward them without decoding. Cameras are sloppy about the format, so the parser is
lenient where they differ in practice:

* the declared boundary may or may not carry the ``--`` prefix, and may be missing;
* parts may have a ``Content-Length`` header (then it is trusted) or not (then the part
  ends where the next boundary line starts);
* lines may end in CRLF or bare LF.
"""

from __future__ import annotations

import re

MAX_PART = 32 * 1024 * 1024
MAX_HEADERS = 16 * 1024
_LENGTH = re.compile(rb"(?im)^content-length\s*:\s*(\d+)\s*$")


class MultipartError(ValueError):
    """The body cannot be parsed as a stream of parts."""


def boundary_from_content_type(content_type: str) -> bytes | None:
    """The boundary token of a ``multipart/...; boundary=X`` header, without leading ``--``."""
    m = re.search(r'boundary\s*=\s*"?([^";,]+)"?', content_type, re.IGNORECASE)
    if m is None:
        return None
    token = m.group(1).strip().lstrip("-")
    return token.encode("latin-1") if token else None


class MultipartParser:
    """Feed bytes with :meth:`feed`; it returns the complete JPEG parts found so far."""

    def __init__(self, boundary: bytes | None) -> None:
        self.boundary = boundary
        self.skipped = 0
        """Parts that were not JPEG images (counted, then ignored)."""
        self._buf = bytearray()
        self._need: int | None = None  # body length of the current part, once known
        self._in_body = False

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out: list[bytes] = []
        while True:
            part = self._next_part()
            if part is None:
                break
            if part[:2] == b"\xff\xd8":
                out.append(part)
            else:
                self.skipped += 1
        if len(self._buf) > MAX_PART + MAX_HEADERS:
            raise MultipartError(f"a part is larger than {MAX_PART} bytes; is this MJPEG?")
        return out

    def _next_part(self) -> bytes | None:
        if not self._in_body and not self._read_headers():
            return None
        if self._need is not None:
            if len(self._buf) < self._need:
                return None
            part = bytes(self._buf[: self._need])
            del self._buf[: self._need]
        else:
            end = self._find_boundary(0)
            if end is None:
                return None
            part = bytes(self._buf[:end]).rstrip(b"\r\n")
            del self._buf[:end]
        self._in_body = False
        self._need = None
        return part

    def _find_boundary(self, start: int) -> int | None:
        """Index of the start of the next boundary line, at or after ``start``."""
        if self.boundary is None:
            if start == 0 and self._buf.startswith(b"--"):
                return 0
            i = self._buf.find(b"\n--", start)
            return None if i < 0 else i + 1
        token = self.boundary
        i = self._buf.find(token, start)
        while i >= 0:
            line_start = self._buf.rfind(b"\n", 0, i) + 1
            prefix = self._buf[line_start:i]
            if prefix.strip(b"-\r") == b"":
                return line_start
            i = self._buf.find(token, i + 1)
        return None

    def _read_headers(self) -> bool:
        """Skip to the next boundary and past the part headers; False if more data is needed."""
        start = self._find_boundary(0)
        if start is None:
            if len(self._buf) > MAX_HEADERS and self.boundary is not None:
                # Keep a tail that may hold the start of a boundary split across reads.
                del self._buf[: len(self._buf) - len(self.boundary) - 8]
            return False
        line_end = self._buf.find(b"\n", start)
        if line_end < 0:
            return False
        if self.boundary is None:
            self.boundary = bytes(self._buf[start:line_end]).strip().lstrip(b"-") or None
        headers_end, sep_len = self._headers_end(line_end + 1)
        if headers_end < 0:
            if len(self._buf) - start > MAX_HEADERS:
                raise MultipartError("part headers too long or missing blank line")
            return False
        headers = bytes(self._buf[line_end + 1 : headers_end])
        del self._buf[: headers_end + sep_len]
        m = _LENGTH.search(headers)
        self._need = int(m.group(1)) if m else None
        if self._need is not None and self._need > MAX_PART:
            raise MultipartError(f"part declares {self._need} bytes, over {MAX_PART}")
        self._in_body = True
        return True

    def _headers_end(self, pos: int) -> tuple[int, int]:
        """Where the part headers starting at ``pos`` end (blank line), and its length."""
        if self._buf[pos : pos + 2] == b"\r\n":
            return pos, 2
        if self._buf[pos : pos + 1] == b"\n":
            return pos, 1
        crlf = self._buf.find(b"\r\n\r\n", pos)
        lf = self._buf.find(b"\n\n", pos)
        candidates = [(i + 2, 2) for i in (crlf,) if i >= 0] + [(i + 1, 1) for i in (lf,) if i >= 0]
        if not candidates:
            return -1, 0
        return min(candidates)
