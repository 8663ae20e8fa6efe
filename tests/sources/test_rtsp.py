"""RTSP against a real GStreamer RTSP server (H.264 at IP Webcam's path)."""

from __future__ import annotations

import logging
import time

import pytest

from camhub.sources import SourceTimeout, open_source
from tests.servers.blackhole import Silent, Unanswered
from tests.servers.rtsp import RTSPServer
from tests.sources.helpers import read_n, wait_until

pytestmark = [pytest.mark.rtsp, pytest.mark.timeout(90)]


def test_decodes_h264_frames(rtsp_server: RTSPServer) -> None:
    source = open_source(rtsp_server.url, "phone1")
    try:
        frames = read_n(source, 10)
        status = source.status()
    finally:
        source.stop()
    assert {f.image.shape for f in frames} == {(120, 160, 3)}
    assert all(f.jpeg is None for f in frames)
    assert frames[0].image.dtype.name == "uint8"
    assert len({f.image.tobytes() for f in frames}) > 1, "the ball should move"
    assert status.connected and status.fps > 0


def test_ipwebcam_rtsp_shortcut(rtsp_server: RTSPServer) -> None:
    source = open_source(f"ipwebcam://127.0.0.1:{rtsp_server.port}?mode=rtsp", "phone")
    try:
        assert source.read(timeout=15).image.shape == (120, 160, 3)
    finally:
        source.stop()


def test_killed_server_comes_back_and_the_source_resumes(
    rtsp_available: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="camhub.sources")
    server = RTSPServer(size="160x120", fps=15).start()
    source = open_source(server.url, "phone1", read_timeout=2.0)
    try:
        read_n(source, 3, timeout=15)
        server.stop()
        assert wait_until(lambda: not source.status().connected, 10)
        server = RTSPServer(size="160x120", fps=15, port=server.port).start()
        back = time.time()
        while (source.read(timeout=15).captured_at or 0) < back:
            pass  # a frame from before the cut may still be waiting
        resumed_after = time.time() - back
        assert source.status().reconnects >= 1
    finally:
        source.stop()
        server.stop()
    assert resumed_after < 6.0, f"took {resumed_after:.1f} s"
    assert "camera phone1 offline since" in caplog.text


def test_refused_port_gives_clear_error_and_retries() -> None:
    with Unanswered() as probe:
        port = probe.port
    source = open_source(f"rtsp://127.0.0.1:{port}/h264_ulaw.sdp", "cam", retry_max=0.5)
    try:
        with pytest.raises(SourceTimeout, match="refused"):
            source.read(timeout=1.5)
        assert wait_until(lambda: source.status().reconnects >= 2, 3)
    finally:
        started = time.monotonic()
        source.stop()
    assert time.monotonic() - started < 1.5


def test_silent_server_times_out_without_hanging() -> None:
    with Silent() as camera:
        source = open_source(
            f"rtsp://127.0.0.1:{camera.port}/x", "cam", open_timeout=0.5, read_timeout=0.5,
            retry_max=0.5,
        )  # fmt: skip
        started = time.monotonic()
        try:
            with pytest.raises(SourceTimeout):
                source.read(timeout=2.0)
            assert time.monotonic() - started < 3.0
            assert wait_until(lambda: camera.accepted >= 2, 4), "it should retry"
            assert source.status().last_error
        finally:
            source.stop()


def test_credentials_never_logged(
    rtsp_server: RTSPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"rtsp://viewer:pw-0123456@127.0.0.1:{rtsp_server.port}/no-such-path"
    source = open_source(url, "cam", retry_max=0.5)
    try:
        with pytest.raises(SourceTimeout) as info:
            source.read(timeout=2.0)
        status = source.status()
    finally:
        source.stop()
    assert "pw-0123456" not in caplog.text
    assert "pw-0123456" not in str(info.value)
    assert "pw-0123456" not in str(status) and "pw-0123456" not in repr(source)
