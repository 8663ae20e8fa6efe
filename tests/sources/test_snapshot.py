"""JPEG snapshot polling (IP Webcam's /shot.jpg) against a real HTTP server."""

from __future__ import annotations

import pytest

from camhub.sources import SourceTimeout, open_source
from tests.clock import ManualClock
from tests.servers.py_mjpeg import PyMJPEGServer

pytestmark = pytest.mark.timeout(60)


def test_polls_at_the_requested_rate(jpegs: list[bytes]) -> None:
    with PyMJPEGServer(jpegs) as server:
        source = open_source(server.base() + "/shot.jpg", "cam", rate=10)
        clock = ManualClock()
        source.clock = clock
        try:
            first = source.read(timeout=5)
            clock.asleep()  # the next poll is 0.1 s away
            frames = []
            for _ in range(10):
                clock.advance(0.1)
                frames.append(source.read(timeout=5))
            polls = server.requests.count("/shot.jpg")
            clock.advance(0.05)  # not yet time for the next poll
        finally:
            source.stop()
    assert all(f.jpeg in jpegs for f in [first, *frames])
    assert len({f.jpeg for f in frames}) > 5
    assert polls == 11, server.requests
    assert source.status().frames == 11
    assert clock.waits[:10] == pytest.approx([0.1] * 10)


def test_ipwebcam_snapshot_shortcut_with_login(jpegs: list[bytes]) -> None:
    with PyMJPEGServer(jpegs, auth=("me", "pw")) as server:
        uri = f"ipwebcam://me:pw@127.0.0.1:{server.port}?mode=snapshot"
        source = open_source(uri, "cam", rate=20)
        try:
            assert source.read(timeout=5).jpeg in jpegs
        finally:
            source.stop()


def test_not_a_jpeg_is_a_clear_error(jpegs: list[bytes]) -> None:
    with PyMJPEGServer(jpegs) as server:
        source = open_source(server.base() + "/missing.jpg", "cam", retry_max=0.5)
        try:
            with pytest.raises(SourceTimeout, match="404"):
                source.read(timeout=1.5)
        finally:
            source.stop()


def test_bad_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="rate"):
        open_source("http://127.0.0.1:1/shot.jpg", rate=0)


def test_web_page_instead_of_a_snapshot_says_so(jpegs: list[bytes]) -> None:
    with PyMJPEGServer(jpegs) as server:
        source = open_source(server.base() + "/page.jpg", "cam")
        try:
            with pytest.raises(SourceTimeout, match=r"returned a web page \(text/html\)"):
                source.read(timeout=1.5)
        finally:
            source.stop()
