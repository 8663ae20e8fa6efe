"""MJPEG over HTTP against real servers: ffmpeg's mpjpeg server and a Python one for the
variations. The JPEG bytes must arrive exactly as the camera sent them."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from camhub.sources import SourceTimeout, open_source
from tests.clock import ManualClock
from tests.conftest import wait_until
from tests.servers.blackhole import Silent, Unanswered
from tests.servers.ffmpeg_mjpeg import FFmpegMJPEGServer
from tests.servers.py_mjpeg import PyMJPEGServer, read_stamp
from tests.sources.helpers import read_n, stop_cleanly

pytestmark = pytest.mark.timeout(60)


def test_ffmpeg_stream_passes_jpeg_bytes_through(
    ffmpeg_server: FFmpegMJPEGServer, jpegs: list[bytes]
) -> None:
    source = open_source(ffmpeg_server.url, "cam")
    try:
        frames = read_n(source, 20)
    finally:
        source.stop()
    assert all(f.jpeg in jpegs for f in frames), "a JPEG changed on the way"
    assert len({f.jpeg for f in frames}) > 5, "frames should differ (the pattern moves)"
    assert {(f.width, f.height) for f in frames} == {(160, 120)}
    assert all(f.array is None for f in frames), "pass-through must not decode"
    seqs = [f.seq for f in frames]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    now = time.time()
    assert all(f.captured_at is not None and now - 5 < f.captured_at <= now for f in frames)


@pytest.mark.parametrize("chunked", [False, True], ids=["plain", "chunked"])
@pytest.mark.parametrize("part_length", [True, False], ids=["length", "no-length"])
def test_python_server_variants(jpegs: list[bytes], chunked: bool, part_length: bool) -> None:
    with PyMJPEGServer(jpegs, fps=30, chunked=chunked, part_length=part_length) as server:
        source = open_source(server.url, "cam")
        try:
            frames = read_n(source, 10)
            status = source.status()
        finally:
            source.stop()
    assert all(f.jpeg in jpegs for f in frames)
    assert status.connected and status.frames >= 10 and status.last_error is None


def test_basic_auth(jpegs: list[bytes]) -> None:
    with PyMJPEGServer(jpegs, fps=30, auth=("admin", "pa:ss w@rd")) as server:
        source = open_source(server.base("admin:pa%3Ass%20w%40rd@") + "/video", "cam")
        try:
            assert read_n(source, 3)[0].jpeg in jpegs
        finally:
            source.stop()


@pytest.mark.parametrize(
    ("user_info", "words"),
    [("", "wants a login"), ("admin:wrong-secret@", "refused the user name or password")],
)
def test_auth_failures_are_explained_without_the_password(
    jpegs: list[bytes], caplog: pytest.LogCaptureFixture, user_info: str, words: str
) -> None:
    caplog.set_level(logging.DEBUG)
    with PyMJPEGServer(jpegs, auth=("admin", "right")) as server:
        source = open_source(server.base(user_info) + "/video", "cam", retry_max=0.5)
        try:
            with pytest.raises(SourceTimeout, match=words) as info:
                source.read(timeout=1.5)
            assert source.status().reconnects >= 1  # it keeps trying
        finally:
            source.stop()
    assert "HTTP 401" in str(info.value)
    assert "wrong-secret" not in caplog.text and "wrong-secret" not in str(info.value)
    assert "offline since" in caplog.text


def test_wrong_path_says_404(jpegs: list[bytes]) -> None:
    with PyMJPEGServer(jpegs) as server:
        source = open_source(server.base() + "/nothing-here", "cam")
        try:
            with pytest.raises(SourceTimeout, match=r"404.*check the path"):
                source.read(timeout=1.5)
        finally:
            source.stop()


def test_single_image_url_suggests_snapshot_mode(jpegs: list[bytes]) -> None:
    with PyMJPEGServer(jpegs) as server:
        source = open_source(server.base() + "/snapshot.cgi", "cam")  # serves one JPEG
        try:
            with pytest.raises(SourceTimeout, match=r"single image.*shot\.jpg"):
                source.read(timeout=1.5)
        finally:
            source.stop()


def test_killed_server_comes_back_and_the_source_resumes(
    mjpeg_file: Path, jpegs: list[bytes], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="camhub.sources")
    server = FFmpegMJPEGServer(mjpeg_file, fps=15).start()
    source = open_source(server.url, "phone1")
    try:
        read_n(source, 3)
        server.stop()
        wait_until(lambda: not source.status().connected, 10)
        with pytest.raises(SourceTimeout):
            for _ in range(2):  # the first may be the last frame before the cut
                source.read(timeout=0.5)
        server = FFmpegMJPEGServer(mjpeg_file, fps=15, port=server.port).start()
        # Reconnect attempts are at most retry_max (1 s) apart: 10 s is only a ceiling.
        frame = source.read(timeout=10)
        assert frame.jpeg in jpegs
        assert source.status().reconnects >= 1
    finally:
        source.stop()
        server.stop()
    assert "camera phone1 offline since" in caplog.text
    assert "camera phone1 back online" in caplog.text


def test_refused_port_gives_clear_error_and_retries_without_hanging() -> None:
    with Unanswered() as probe:  # any port we know is closed once this exits
        port = probe.port
    source = open_source(f"http://127.0.0.1:{port}/video", "cam", retry_max=0.5)
    clock = ManualClock()
    source.clock = clock  # the pauses between attempts
    try:
        with pytest.raises(SourceTimeout, match="connection refused"):
            source.read(timeout=1.5)
        clock.asleep()
        assert source.status().reconnects == 0
        clock.advance(0.25)  # retry_min
        clock.advance(0.5)  # doubled, and capped at retry_max
        clock.advance(0.5)
        assert source.status().reconnects == 3
        assert clock.waits == [0.25, 0.5, 0.5, 0.5]
        assert "refused" in (source.status().last_error or "")
    finally:
        stop_cleanly(source)


def test_unanswered_host_times_out_and_retries() -> None:
    with Unanswered() as host:
        source = open_source(
            f"http://127.0.0.1:{host.port}/video", "cam", open_timeout=0.5, retry_max=0.5
        )
        try:
            with pytest.raises(SourceTimeout, match="timed out"):
                source.read(timeout=2.0)  # the 0.5 s open timeout, not a hang
            assert source.status().reconnects >= 1
        finally:
            source.stop()


def test_silent_camera_times_out_on_read() -> None:
    with Silent() as camera:
        source = open_source(
            f"http://127.0.0.1:{camera.port}/video", "cam", read_timeout=0.5, retry_max=0.5
        )
        try:
            with pytest.raises(SourceTimeout, match="timed out"):
                source.read(timeout=2.0)
            wait_until(lambda: camera.accepted >= 2, 10, what="it should reconnect")
        finally:
            stop_cleanly(source)


def test_slow_consumer_always_gets_fresh_frames(jpegs: list[bytes]) -> None:
    with PyMJPEGServer(jpegs, fps=30, stamp=True) as server:
        source = open_source(server.url, "cam")
        try:
            source.read(timeout=5)
            last_seq = 0
            for _ in range(6):
                time.sleep(0.3)  # a consumer much slower than the camera
                frame = source.read(timeout=2)
                assert read_stamp(frame.jpeg or b"") is not None
                # Only the newest frame waits in the slot: the ones before it were
                # skipped and counted, not queued behind it.
                assert source.pending == 0
                assert frame.seq is not None and frame.seq > last_seq + 3
                last_seq = frame.seq
            assert source.dropped > 20
        finally:
            source.stop()


@pytest.mark.parametrize("path", ["/", "/index.html"])
def test_web_page_instead_of_a_stream_says_so(jpegs: list[bytes], path: str) -> None:
    with PyMJPEGServer(jpegs) as server:
        source = open_source(server.base() + path, "cam")
        try:
            with pytest.raises(SourceTimeout, match=r"returned a web page \(text/html\).*path"):
                source.read(timeout=1.5)
        finally:
            source.stop()
