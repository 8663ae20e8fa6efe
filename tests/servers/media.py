"""Test media made on the spot with the ffmpeg binary from the imageio-ffmpeg wheel."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg(*args: str, timeout: float = 60) -> None:
    subprocess.run(
        [FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args],
        check=True,
        timeout=timeout,
    )


def make_video(path: Path, size: str = "160x120", fps: int = 20, seconds: float = 1.0) -> Path:
    """An H.264 MP4 of ffmpeg's moving test pattern."""
    ffmpeg("-f", "lavfi", "-i", f"testsrc=size={size}:rate={fps}:duration={seconds}",
           "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", str(path))  # fmt: skip
    return path


def make_jpegs(size: str = "320x240", fps: int = 15, seconds: float = 1.0,
               quality: int = 5) -> list[bytes]:  # fmt: skip
    """Distinct JPEG frames of ffmpeg's test pattern (each frame differs: a counter moves)."""
    out = subprocess.run(
        [FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "lavfi", "-i",
         f"testsrc=size={size}:rate={fps}:duration={seconds}", "-c:v", "mjpeg",
         "-q:v", str(quality), "-f", "mjpeg", "-"],
        check=True, capture_output=True, timeout=60,
    ).stdout  # fmt: skip
    return split_jpegs(out)


def split_jpegs(stream: bytes) -> list[bytes]:
    """Cut a raw MJPEG stream (JPEGs back to back) into its JPEGs."""
    frames: list[bytes] = []
    start = stream.find(b"\xff\xd8")
    while start >= 0:
        nxt = stream.find(b"\xff\xd9\xff\xd8", start)
        end = len(stream) if nxt < 0 else nxt + 2
        frames.append(stream[start:end])
        start = -1 if nxt < 0 else end
    return frames


def write_mjpeg(path: Path, jpegs: list[bytes]) -> Path:
    path.write_bytes(b"".join(jpegs))
    return path
