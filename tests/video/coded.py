"""Real coded video for the container and recording tests: a scene cut from a photograph
shipped by scikit-image (a cat walking over a coffee table, with sensor noise), encoded by
FFmpeg's own encoders (H.264, H.265, VP8, VP9) through PyAV, as camhub's
:class:`~camhub.video.VideoPacket` objects with their 90 kHz timestamps; and what FFmpeg's
command line decodes from a file."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from camhub.video.packet import TIME_BASE, Codec, VideoPacket

ENCODERS: dict[Codec, tuple[str, dict[str, str]]] = {
    "h264": ("libx264", {"preset": "ultrafast", "tune": "zerolatency"}),
    "hevc": ("libx265", {"preset": "ultrafast", "x265-params": "log-level=none:bframes=0"}),
    "vp8": ("libvpx", {"deadline": "realtime", "cpu-used": "8"}),
    "vp9": ("libvpx-vp9", {"deadline": "realtime", "cpu-used": "8"}),
}


def scene(count: int, size: tuple[int, int] = (320, 240), seed: int = 0) -> list[np.ndarray]:
    """``count`` BGR frames: a photograph with a cat walking across it and sensor noise."""
    import cv2
    from skimage import data

    w, h = size
    background = cv2.resize(data.coffee()[:, :, ::-1], (w, h), interpolation=cv2.INTER_AREA)
    cat = data.chelsea()[:, :, ::-1]
    sw = max(8, w // 4)
    sh = sw * cat.shape[0] // cat.shape[1]
    sprite = cv2.resize(cat, (sw, sh), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(count):
        img = background.copy()
        x = (i * max(2, w // 60)) % (w - sw)
        y = (h - sh) // 2
        img[y : y + sh, x : x + sw] = sprite
        noise = rng.normal(0, 2.0, img.shape)
        frames.append(np.clip(img + noise, 0, 255).astype(np.uint8))
    return frames


def encode(
    codec: Codec,
    frames: list[np.ndarray],
    *,
    fps: int = 15,
    gop: int = 15,
    bframes: int = 0,
) -> list[VideoPacket]:
    """The frames as ``codec`` packets (Annex B with in-band parameter sets for H.264 and
    H.265, as camhub carries them), ``pts``/``dts`` in 90 kHz ticks."""
    import av

    name, options = ENCODERS[codec]
    ctx: Any = av.CodecContext.create(name, "w")
    h, w = frames[0].shape[:2]
    ctx.width, ctx.height = w, h
    ctx.pix_fmt = "yuv420p"
    ctx.time_base = Fraction(1, fps)
    ctx.framerate = fps
    ctx.gop_size = gop
    ctx.options = {**options, **({"bf": str(bframes)} if codec == "h264" else {})}
    coded = []
    for i, img in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(img, format="bgr24").reformat(format="yuv420p")
        frame.pts = i
        coded += ctx.encode(frame)
    coded += ctx.encode(None)
    tick = TIME_BASE // fps
    return [
        VideoPacket(
            codec,
            bytes(p),
            bool(p.is_keyframe),
            pts=p.pts * tick,
            dts=p.dts * tick if p.dts != p.pts else None,
        )
        for p in coded
    ]


def ffmpeg_md5s(
    path: str, fmt: str | None = None, *, every_frame: bool = False
) -> tuple[list[str], str]:
    """What FFmpeg's own command line (imageio-ffmpeg's binary) decodes from ``path``:
    one MD5 per picture in presentation order, and whatever it complained about.

    ``every_frame``: each decoded picture once, as it is timed (a variable frame rate,
    as a browser's camera has); without it FFmpeg fits the pictures to a constant rate,
    dropping one that shares a slot with another."""
    import subprocess

    import imageio_ffmpeg

    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "warning", "-nostdin"]
    if fmt:
        cmd += ["-f", fmt]
    cmd += ["-i", path, "-map", "0:v:0"]
    if every_frame:
        cmd += ["-fps_mode", "passthrough"]
    cmd += ["-f", "framemd5", "-"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    lines = [line for line in proc.stdout.splitlines() if line and not line.startswith("#")]
    return [line.rsplit(",", 1)[1].strip() for line in lines], proc.stderr.strip()


def elementary_stream(packets: list[VideoPacket]) -> tuple[bytes, str]:
    """The packets as a raw stream FFmpeg reads on its own (Annex B, or IVF for
    VP8/VP9) and the name of its format."""
    import struct

    codec = packets[0].codec
    if codec in ("h264", "hevc"):
        return b"".join(p.data for p in packets), codec
    fourcc = b"VP80" if codec == "vp8" else b"VP90"
    from camhub.video.packet import coded_size

    w, h = coded_size(codec, packets[0].data) or (0, 0)
    out = bytearray(
        struct.pack("<4sHH4sHHIIII", b"DKIF", 0, 32, fourcc, w, h, 15, 1, len(packets), 0)
    )
    for i, p in enumerate(packets):
        out += struct.pack("<IQ", len(p.data), i) + p.data
    return bytes(out), "ivf"
