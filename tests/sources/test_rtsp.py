"""RTSP against a real GStreamer RTSP server (H.264 at IP Webcam's path)."""

from __future__ import annotations

import itertools
import logging
import time
from pathlib import Path

import pytest

from camhub.sources import SourceTimeout, open_source
from camhub.sources.rtsp import RTSPSource
from camhub.video.packet import h264_type, length_prefixed_to_annexb, nal_units, parameter_sets
from tests.clock import ManualClock
from tests.conftest import wait_until
from tests.servers.blackhole import Silent, Unanswered
from tests.servers.media import make_video
from tests.servers.py_mjpeg import PyMJPEGServer
from tests.servers.rtsp import RTSPServer
from tests.servers.stamp import read_barcode
from tests.sources.helpers import read_n, stop_cleanly

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
        wait_until(lambda: not source.status().connected, 10)
        server = RTSPServer(size="160x120", fps=15, port=server.port).start()
        back = time.time()
        # Reconnect attempts are at most retry_max (1 s) apart: 15 s is only a ceiling.
        while (source.read(timeout=15).captured_at or 0) < back:
            pass  # a frame from before the cut may still be waiting
        assert source.status().reconnects >= 1
    finally:
        source.stop()
        server.stop()
    assert "camera phone1 offline since" in caplog.text


def test_refused_port_gives_clear_error_and_retries() -> None:
    with Unanswered() as probe:
        port = probe.port
    source = open_source(f"rtsp://127.0.0.1:{port}/h264_ulaw.sdp", "cam", retry_max=0.5)
    clock = ManualClock()
    source.clock = clock  # the pauses between attempts
    try:
        with pytest.raises(SourceTimeout, match="refused"):
            source.read(timeout=1.5)
        clock.asleep()
        clock.advance(0.25)
        clock.advance(0.5)
        assert source.status().reconnects == 2
        assert clock.waits == [0.25, 0.5, 0.5]  # doubled, then capped at retry_max
    finally:
        stop_cleanly(source)


def test_silent_server_times_out_without_hanging() -> None:
    with Silent() as camera:
        source = open_source(
            f"rtsp://127.0.0.1:{camera.port}/x", "cam", open_timeout=0.5, read_timeout=0.5,
            retry_max=0.5,
        )  # fmt: skip
        try:
            with pytest.raises(SourceTimeout):
                source.read(timeout=2.0)  # the 0.5 s timeouts, not a hang
            wait_until(lambda: camera.accepted >= 2, 10, what="it should retry")
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


# -- the camera's own video, passed through ------------------------------------------------


def file_units(path: Path) -> list[list[bytes]]:
    """The NAL units of every access unit of an MP4's H.264, read with PyAV."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [
            nal_units(length_prefixed_to_annexb(bytes(p)))
            for p in container.demux(stream)
            if p.size
        ]


def slices(data: bytes) -> list[bytes]:
    """An access unit's NAL units other than the parameter sets and delimiters (which a
    payloader may repeat or drop)."""
    return [u for u in nal_units(data) if h264_type(u) not in (7, 8, 9)]


def test_the_cameras_access_units_pass_through_untouched(
    rtsp_available: None, tmp_path: Path
) -> None:
    clip = make_video(tmp_path / "camera.mp4", "320x240", 15, 3.0)
    expected = file_units(clip)
    with RTSPServer(file=clip) as server:
        source = open_source(server.url, "cam", packets=True)
        try:
            frames = read_n(source, 30, timeout=15)
        finally:
            source.stop()
    assert all(f.video is not None and f.video.codec == "h264" for f in frames)
    videos = [f.video for f in frames if f.video is not None]
    assert [slices(v.data) for v in videos] == [
        [u for u in units if h264_type(u) not in (7, 8, 9)] for units in expected[:30]
    ]
    keyframes = [v for v in videos if v.keyframe]
    assert videos[0].keyframe and keyframes
    assert all(parameter_sets("h264", v.data) for v in keyframes), "SPS+PPS before keyframes"
    assert {(f.width, f.height) for f in frames} == {(320, 240)}
    pts = [v.pts or 0 for v in videos]  # 90 kHz from 0; GStreamer rounds ns to ticks
    assert pts[0] == 0 and all(abs(b - a - 6000) <= 1 for a, b in itertools.pairwise(pts))


def test_capture_time_comes_from_the_cameras_sender_reports(rtsp_available: None) -> None:
    with RTSPServer(size="320x240", fps=15, stamp=True) as server:
        source = open_source(server.url, "cam")
        assert isinstance(source, RTSPSource)
        try:
            read_n(source, 1, timeout=15)
            wait_until(
                lambda: source.clock_source == "camera",
                20,
                what="GStreamer sends a sender report every few seconds",
            )
            frames = [source.read(timeout=5) for _ in range(10)]
        finally:
            source.stop()
    # Both times are the camera's: the barcode is drawn when the picture is made.
    errors = [abs((f.captured_at or 0) - read_barcode(f.image)) for f in frames[2:]]
    assert max(errors) < 0.05, errors


def test_digest_login(rtsp_available: None, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with RTSPServer(login=("viewer", "pw-0123456")) as server:
        good = server.url.replace("rtsp://", "rtsp://viewer:pw-0123456@")
        source = open_source(good, "cam", packets=True)
        try:
            frame = source.read(timeout=15)
        finally:
            source.stop()
        assert frame.video is not None and frame.video.keyframe
        for url, why in [
            (server.url.replace("rtsp://", "rtsp://viewer:pw-9999999@"), "wrong user name"),
            (server.url, "it wants a user name and password"),
        ]:
            source = open_source(url, "cam", retry_max=0.5)
            try:
                with pytest.raises(SourceTimeout, match=f"401 Unauthorized: {why}"):
                    source.read(timeout=3)
            finally:
                source.stop()
    assert "pw-0123456" not in caplog.text and "pw-9999999" not in caplog.text


def test_a_codec_camhub_does_not_pass_through_is_decoded(rtsp_available: None) -> None:
    with RTSPServer(size="160x120", fps=15, jpeg=True) as server:
        source = open_source(server.url, "cam", packets=True)
        try:
            frames = read_n(source, 5, timeout=15)
        finally:
            source.stop()
    assert all(f.video is None and f.image.shape == (120, 160, 3) for f in frames)


def test_an_http_server_is_not_taken_for_a_camera(jpegs: list[bytes]) -> None:
    with PyMJPEGServer(jpegs, fps=15) as http_only:
        source = open_source(f"rtsp://127.0.0.1:{http_only.port}/x", "cam", retry_max=0.5)
        try:
            # Python's HTTP server answers an RTSP request line with an HTML page and hangs up.
            with pytest.raises(SourceTimeout, match="closed the connection instead of answering"):
                source.read(timeout=3)
        finally:
            source.stop()


def test_after_a_reconnect_packets_start_at_a_keyframe_and_time_goes_on(
    rtsp_available: None,
) -> None:
    server = RTSPServer(size="160x120", fps=15).start()
    source = open_source(server.url, "cam", packets=True, read_timeout=2.0)
    try:
        before = read_n(source, 5, timeout=15)
        server.stop()
        wait_until(lambda: not source.status().connected, 10)
        server = RTSPServer(size="160x120", fps=15, port=server.port).start()
        back = time.time()
        frame = source.read(timeout=15)
        while (frame.captured_at or 0) < back:  # packets from before the cut
            frame = source.read(timeout=15)
        after = [frame, *read_n(source, 2, timeout=15)]
    finally:
        source.stop()
        server.stop()
    assert after[0].video is not None and after[0].video.keyframe
    last_pts = max(f.video.pts or 0 for f in before if f.video is not None)
    assert all(f.video is not None and (f.video.pts or 0) > last_pts for f in after)
