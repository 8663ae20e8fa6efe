"""Real video for the video tests: a scene made of scikit-image's photographs (an astronaut
walking across the rocket-launch photo) encoded by FFmpeg's libx264 (PyAV), as a camera
or camhub's own sender-side encoder would make it."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import av
import cv2
import numpy as np
import numpy.typing as npt
from skimage import data

from camhub.video import VideoPacket

Array = npt.NDArray[np.uint8]


def _bgr(rgb: Any) -> Array:
    return np.ascontiguousarray(cv2.cvtColor(np.asarray(rgb), cv2.COLOR_RGB2BGR), np.uint8)


class Scene:
    """``frame(i)``: the i-th picture of a person walking across a photograph."""

    def __init__(self, width: int = 320, height: int = 240, step: int = 6) -> None:
        self.width, self.height, self.step = width, height, step
        rocket = _bgr(data.rocket())  # type: ignore[no-untyped-call]
        self.background = np.asarray(cv2.resize(rocket, (width, height)), np.uint8)
        person = _bgr(data.astronaut())[:, :380]  # type: ignore[no-untyped-call]
        h = height * 2 // 3
        size = (max(8, person.shape[1] * h // person.shape[0]), h)
        self.person = np.asarray(cv2.resize(person, size), np.uint8)

    def frame(self, i: int) -> Array:
        img: Array = self.background.copy()
        ph, pw = self.person.shape[:2]
        x = (i * self.step) % (self.width + pw) - pw
        y = self.height - ph
        left, right = max(0, x), min(self.width, x + pw)
        if right > left:
            img[y:, left:right] = self.person[:, left - x : right - x]
        return img


class H264Encoder:
    """libx264 tuned as a live camera would be: no B-frames, a keyframe every ``gop``
    frames and whenever :meth:`request_keyframe` was called."""

    def __init__(self, width: int, height: int, *, gop: int = 15, fps: int = 15) -> None:
        ctx: Any = av.CodecContext.create("libx264", "w")
        ctx.width, ctx.height = width, height
        ctx.pix_fmt = "yuv420p"
        ctx.time_base = Fraction(1, fps)
        ctx.framerate = fps
        ctx.gop_size = gop
        ctx.options = {"preset": "ultrafast", "tune": "zerolatency", "bf": "0", "forced-idr": "1"}
        self._ctx = ctx
        self._pts = 0
        self._key = False
        self.keyframe_requests = 0

    def request_keyframe(self, _camera: str = "") -> None:
        self.keyframe_requests += 1
        self._key = True

    def encode(self, image: Array) -> list[VideoPacket]:
        frame = av.VideoFrame.from_ndarray(image, format="bgr24").reformat(format="yuv420p")
        frame.pts = self._pts
        if self._key:
            frame.pict_type = av.video.frame.PictureType.I
            self._key = False
        self._pts += 1
        return [
            VideoPacket("h264", bytes(p), bool(p.is_keyframe), pts=int(p.pts) * 6000)
            for p in self._ctx.encode(frame)
        ]


def h264_stream(
    count: int, *, width: int = 320, height: int = 240, gop: int = 15
) -> tuple[list[Array], list[VideoPacket]]:
    """``count`` pictures of the scene and their H.264 packets (one per picture)."""
    scene = Scene(width, height)
    encoder = H264Encoder(width, height, gop=gop)
    pictures, packets = [], []
    for i in range(count):
        pictures.append(scene.frame(i))
        out = encoder.encode(pictures[-1])
        assert len(out) == 1  # zerolatency: a packet per picture, at once
        packets += out
    return pictures, packets


def ffmpeg_pictures(packets: list[VideoPacket]) -> list[Array]:
    """What FFmpeg's own decoder makes of the packets, in order (a fresh decoder)."""
    ctx: Any = av.CodecContext.create("h264", "r")
    out = []
    for packet in packets:
        for frame in ctx.decode(av.Packet(packet.data)):
            out.append(frame.to_ndarray(format="bgr24"))
    return out


def psnr(a: Array, b: Array) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)
