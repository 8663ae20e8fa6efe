"""The MJPEG multipart parser: exact bytes out, whatever way the stream is cut up."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from camhub.sources.multipart import (
    MAX_PART,
    MultipartError,
    MultipartParser,
    boundary_from_content_type,
)

JPEGS = [
    b"\xff\xd8" + bytes([i]) * (50 + i * 7) + b"--notaboundary\r\n" + b"\xff\xd9" for i in range(5)
]


def body(parts: list[bytes], *, boundary: str = "frame", length: bool = True, eol: str = "\r\n",
         dashes: str = "--") -> bytes:  # fmt: skip
    out = b""
    for part in parts:
        head = f"{dashes}{boundary}{eol}Content-Type: image/jpeg{eol}"
        if length:
            head += f"Content-Length: {len(part)}{eol}"
        out += (head + eol).encode() + part + eol.encode()
    return out


def parse_all(data: bytes, boundary: bytes | None, cuts: list[int]) -> list[bytes]:
    parser = MultipartParser(boundary)
    out: list[bytes] = []
    points = sorted({c % (len(data) + 1) for c in cuts})
    start = 0
    for point in [*points, len(data)]:
        out += parser.feed(data[start:point])
        start = point
    return out


@pytest.mark.parametrize("length", [True, False])
@pytest.mark.parametrize("eol", ["\r\n", "\n"])
@pytest.mark.parametrize("declared", [b"frame", None])
def test_variants(length: bool, eol: str, declared: bytes | None) -> None:
    data = body(JPEGS, length=length, eol=eol)
    got = parse_all(data, declared, [])
    # Without a length the last part is complete only once the next boundary arrives.
    assert got == (JPEGS if length else JPEGS[:-1])


@settings(max_examples=200, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=40),
       length=st.booleans(), declared=st.booleans())  # fmt: skip
def test_any_split_gives_the_same_parts(cuts: list[int], length: bool, declared: bool) -> None:
    data = body(JPEGS, length=length) + b"--frame\r\n"
    assert parse_all(data, b"frame" if declared else None, cuts) == JPEGS


def test_boundary_declared_with_dashes_and_body_with_more() -> None:
    boundary = boundary_from_content_type('multipart/x-mixed-replace; boundary="--myboundary"')
    assert boundary == b"myboundary"
    data = body(JPEGS, boundary="myboundary", dashes="----")
    assert MultipartParser(boundary).feed(data) == JPEGS


def test_content_type_without_boundary() -> None:
    assert boundary_from_content_type("multipart/x-mixed-replace") is None
    assert boundary_from_content_type("multipart/x-mixed-replace;boundary=ffmpeg") == b"ffmpeg"


def test_non_jpeg_parts_are_skipped_and_counted() -> None:
    parser = MultipartParser(b"frame")
    got = parser.feed(body([JPEGS[0], b"hello", JPEGS[1]]))
    assert got == JPEGS[:2]
    assert parser.skipped == 1


def test_preamble_before_first_boundary_is_ignored() -> None:
    parser = MultipartParser(b"frame")
    assert parser.feed(b"some preamble text\r\n" + body(JPEGS[:2])) == JPEGS[:2]


def test_oversized_part_is_an_error_not_a_memory_leak() -> None:
    parser = MultipartParser(b"frame")
    with pytest.raises(MultipartError, match="declares"):
        parser.feed(f"--frame\r\nContent-Length: {MAX_PART + 1}\r\n\r\n".encode())


def test_garbage_without_boundaries_is_bounded() -> None:
    parser = MultipartParser(None)
    with pytest.raises(MultipartError):
        for _ in range(MAX_PART // 1_000_000 + 2):
            parser.feed(b"x" * 1_000_000)
