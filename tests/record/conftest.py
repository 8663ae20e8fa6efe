"""Fixtures for the recorder tests: one camera's real H.264 and FFmpeg's pictures of it."""

from __future__ import annotations

import pytest

from camhub.video.packet import VideoPacket
from tests.video.coded import elementary_stream, encode, ffmpeg_md5s, scene


@pytest.fixture(scope="session")
def packets() -> list[VideoPacket]:
    """6 s of 160x120 H.264 at 15 fps, a keyframe every second."""
    return encode("h264", scene(90, (160, 120)), gop=15)


@pytest.fixture(scope="session")
def want(packets: list[VideoPacket], tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """What FFmpeg decodes from the bare stream: one MD5 per picture."""
    raw, fmt = elementary_stream(packets)
    path = tmp_path_factory.mktemp("raw") / "raw"
    path.write_bytes(raw)
    md5s = ffmpeg_md5s(str(path), fmt)[0]
    assert len(md5s) == len(packets)
    return md5s
