"""``ipwebcam://``: the IP Webcam app's H.264 over RTSP where it has one (GStreamer's RTSP
server at the app's paths), its MJPEG stream where it has none (a Python MJPEG server)."""

from __future__ import annotations

import logging

import pytest

from camhub.sources import SourceTimeout, open_source
from camhub.sources.ipwebcam import IPWebcamSource
from tests.conftest import wait_until
from tests.servers.blackhole import Unanswered
from tests.servers.py_mjpeg import PyMJPEGServer
from tests.servers.rtsp import RTSPServer
from tests.sources.helpers import read_n

pytestmark = pytest.mark.timeout(90)


@pytest.mark.parametrize("path", ["/h264_ulaw.sdp", "/h264_pcm.sdp"])
def test_the_apps_h264_passes_through(rtsp_available: None, path: str) -> None:
    with RTSPServer(size="160x120", fps=15, path=path) as phone:
        source = open_source(f"ipwebcam://127.0.0.1:{phone.port}", "phone", packets=True)
        assert isinstance(source, IPWebcamSource)
        try:
            frames = read_n(source, 5, timeout=15)
        finally:
            source.stop()
    assert all(f.encoding == "h264" for f in frames) and frames[0].video is not None
    assert frames[0].video.keyframe and source.mode == "rtsp"
    assert source.url.endswith(path)


def test_an_app_without_rtsp_streams_mjpeg(
    jpegs: list[bytes], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="camhub.sources")
    with PyMJPEGServer(jpegs, fps=15, auth=("me", "pw-0123456")) as phone:
        url = f"ipwebcam://me:pw-0123456@127.0.0.1:{phone.port}"
        source = open_source(url, "phone", packets=True)
        try:
            frames = read_n(source, 5, timeout=15)
        finally:
            source.stop()
    assert all(f.encoding == "jpeg" and f.jpeg in jpegs for f in frames)
    assert source.mode == "mjpeg" and source.own_jpeg
    assert "reading its MJPEG stream" in caplog.text and "pw-0123456" not in caplog.text


def test_a_phone_that_is_off_is_retried_not_demoted() -> None:
    with Unanswered() as probe:
        port = probe.port
    source = open_source(f"ipwebcam://127.0.0.1:{port}", "phone", retry_max=0.5)
    assert isinstance(source, IPWebcamSource)
    try:
        with pytest.raises(SourceTimeout, match="refused"):
            source.read(timeout=1.5)
        wait_until(lambda: source.status().reconnects >= 2, 15)
    finally:
        source.stop()
    assert source.mode == "auto"
