"""Fixtures for source tests: generated media and real camera servers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.ffmpeg_mjpeg import FFmpegMJPEGServer
from tests.servers.media import make_jpegs, make_video, write_mjpeg
from tests.servers.rtsp import RTSPServer, rtsp_missing


@pytest.fixture(scope="session")
def jpegs() -> list[bytes]:
    """Fifteen distinct small JPEG frames (ffmpeg's test pattern)."""
    return make_jpegs(size="160x120", fps=15, seconds=1.0)


@pytest.fixture(scope="session")
def mjpeg_file(jpegs: list[bytes], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_mjpeg(tmp_path_factory.mktemp("media") / "frames.mjpeg", jpegs)


@pytest.fixture(scope="session")
def video_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("media") / "clip.mp4", "160x120", 20, 1.0)


@pytest.fixture
def ffmpeg_server(mjpeg_file: Path) -> Iterator[FFmpegMJPEGServer]:
    with FFmpegMJPEGServer(mjpeg_file, fps=15) as server:
        yield server


@pytest.fixture(scope="session")
def rtsp_available() -> None:
    why = rtsp_missing()
    if why is not None:
        pytest.skip(f"RTSP tests need GStreamer's RTSP server: {why}")


@pytest.fixture
def rtsp_server(rtsp_available: None) -> Iterator[RTSPServer]:
    with RTSPServer(size="160x120", fps=15) as server:
        yield server
