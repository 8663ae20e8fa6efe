"""Bytes on the wire for one camera, H.264 against JPEG q85, in one run.

A scene made of scikit-image's real photographs (a 2x2 collage of the rocket launch,
the coffee cup, the motorbike and the cat, cropped at their own resolution so no
detail is invented or lost by scaling) with motion: the astronaut walks across it, a
little faster than a person would. Optionally with sensor noise (``--noise``, Gaussian,
in grey levels), which real cameras have and which costs H.264 far more than it costs
JPEG.

Every frame is encoded both ways and put into the exact wire message camhub sends
(``protocol.encode``: JSON header with the stamps, plus the payload); bytes per second
are those messages' sizes at ``--fps`` (ZeroMQ adds 2-9 bytes of framing per part and
TCP/IP its headers, the same for both). JPEG is camhub's default (q85, 4:2:0,
simplejpeg); H.264 is what a camhub sender encodes with (FFmpeg's libx264 through PyAV,
``ultrafast``/``zerolatency``, no B-frames, a keyframe every 2 s) at several CRFs.
Quality is PSNR against the source frames (mean over frames, all three channels), each
picture decoded as the hub would (simplejpeg; FFmpeg's H.264 decoder).

A last pass streams the H.264 through a real camhub ``Sender`` into a ``Hub`` on
127.0.0.1 and checks that the hub counted the same payload bytes.

    python -m bench.bench_video [--seconds 8] [--fps 15] [--sizes 640x480,1280x720]
                                [--crf 23,20,17] [--noise 0,2]
"""

from __future__ import annotations

import argparse
import time
from fractions import Fraction
from typing import Any

import av
import cv2
import numpy as np
from skimage import data

import camhub
from bench.common import machine_description, print_table, ratio
from camhub import Frame, protocol
from camhub.jpeg import decode_jpeg, encode_jpeg
from camhub.video import VideoPacket

Array = np.ndarray


def _bgr(rgb: Any) -> Array:
    rgb = np.asarray(rgb)
    if rgb.ndim == 2:
        return np.ascontiguousarray(cv2.cvtColor(rgb, cv2.COLOR_GRAY2BGR))
    return np.ascontiguousarray(cv2.cvtColor(rgb[..., :3], cv2.COLOR_RGB2BGR))


def _crop(photo: Array, width: int, height: int) -> Array:
    """A ``width`` x ``height`` crop from the middle, at the photo's own resolution (the
    smaller photos are enlarged only as far as the tile needs)."""
    h, w = photo.shape[:2]
    scale = max(width / w, height / h, 1.0)
    if scale > 1.0:
        photo = cv2.resize(photo, (round(w * scale + 0.5), round(h * scale + 0.5)))
        h, w = photo.shape[:2]
    y, x = (h - height) // 2, (w - width) // 2
    return np.ascontiguousarray(photo[y : y + height, x : x + width])


class PhotoScene:
    """``frame(i)``: the collage with the walker at step ``i``, plus optional noise."""

    def __init__(self, width: int, height: int, fps: int, noise: float, seed: int = 0) -> None:
        self.width, self.height, self.noise = width, height, noise
        tw, th = width // 2, height // 2
        photos = [data.rocket(), data.coffee(), data.stereo_motorcycle()[0], data.chelsea()]
        tiles = [_crop(_bgr(p), tw, th) for p in photos]
        self.background = np.vstack([np.hstack(tiles[:2]), np.hstack(tiles[2:])])
        person = _bgr(data.astronaut())[40:, 60:400]
        ph = height * 3 // 5
        self.person = cv2.resize(person, (person.shape[1] * ph // person.shape[0], ph))
        self.speed = width / (3.0 * fps)  # across the picture in 3 s
        self._rng = np.random.default_rng(seed)

    def frame(self, i: int) -> Array:
        img = self.background.copy()
        ph, pw = self.person.shape[:2]
        x = int(i * self.speed) % (self.width + pw) - pw
        y = self.height - ph
        left, right = max(0, x), min(self.width, x + pw)
        if right > left:
            img[y:, left:right] = self.person[:, left - x : right - x]
        if self.noise:
            noisy = img.astype(np.float32) + self._rng.normal(0, self.noise, img.shape)
            img = noisy.clip(0, 255).astype(np.uint8)
        return img


def psnr(a: Array, b: Array) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * float(np.log10(255.0**2 / mse))


def wire_bytes(frame: Frame) -> int:
    return sum(len(part) for part in protocol.encode(frame, ack=8))


def measure_jpeg(frames: list[Array], quality: int = 85) -> tuple[int, float, float]:
    """(wire bytes, mean PSNR, encode CPU ms per frame)."""
    total, quality_sum, cpu = 0, 0.0, 0.0
    for i, image in enumerate(frames):
        start = time.process_time()
        jpeg = encode_jpeg(image, quality=quality)
        cpu += time.process_time() - start
        h, w = image.shape[:2]
        total += wire_bytes(
            Frame("cam", jpeg=jpeg, seq=i, captured_at=time.time(), width=w, height=h)
        )
        quality_sum += psnr(decode_jpeg(jpeg), image)
    return total, quality_sum / len(frames), cpu * 1000 / len(frames)


def h264_packets(frames: list[Array], fps: int, crf: int) -> tuple[list[VideoPacket], float]:
    """libx264 as a camhub sender runs it; returns the packets and encode CPU ms/frame."""
    h, w = frames[0].shape[:2]
    ctx: Any = av.CodecContext.create("libx264", "w")
    ctx.width, ctx.height = w, h
    ctx.pix_fmt = "yuv420p"
    ctx.time_base = Fraction(1, fps)
    ctx.framerate = fps
    ctx.gop_size = 2 * fps
    ctx.options = {"preset": "ultrafast", "tune": "zerolatency", "bf": "0", "crf": str(crf)}
    packets: list[VideoPacket] = []
    cpu = 0.0
    for i, image in enumerate(frames):
        start = time.process_time()
        picture = av.VideoFrame.from_ndarray(image, format="bgr24").reformat(format="yuv420p")
        picture.pts = i
        out = ctx.encode(picture)
        cpu += time.process_time() - start
        packets += [
            VideoPacket("h264", bytes(p), bool(p.is_keyframe), pts=int(p.pts) * 90_000 // fps)
            for p in out
        ]
    packets += [VideoPacket("h264", bytes(p), bool(p.is_keyframe)) for p in ctx.encode(None)]
    return packets, cpu * 1000 / len(frames)


def measure_h264(frames: list[Array], fps: int, crf: int) -> tuple[int, float, float]:
    packets, cpu = h264_packets(frames, fps, crf)
    h, w = frames[0].shape[:2]
    total = sum(
        wire_bytes(Frame("cam", video=p, seq=i, captured_at=time.time(), width=w, height=h))
        for i, p in enumerate(packets)
    )
    decoder: Any = av.CodecContext.create("h264", "r")
    pictures = [
        f.to_ndarray(format="bgr24") for p in packets for f in decoder.decode(av.Packet(p.data))
    ]
    assert len(pictures) == len(frames), "one picture per frame"
    quality = sum(psnr(a, b) for a, b in zip(pictures, frames, strict=True)) / len(frames)
    return total, quality, cpu


def live_check(frames: list[Array], fps: int, crf: int) -> tuple[int, int]:
    """(payload bytes sent, payload bytes the hub counted) through a real Sender/Hub."""
    packets, _ = h264_packets(frames, fps, crf)
    h, w = frames[0].shape[:2]
    with (
        camhub.Hub("tcp://127.0.0.1:0") as hub,
        camhub.Sender(hub.endpoint, video=["h264"]) as sender,
    ):
        while sender.video_codecs is None:  # the capability exchange, on a JPEG
            sender.send_jpeg("probe", encode_jpeg(frames[0]))
            sender.flush()
        for p in packets:
            sender.send_frame(Frame("cam", video=p, width=w, height=h))
        sender.flush()
        deadline = time.monotonic() + 10
        while (
            hub.camera_stats("cam") is None or hub.camera_stats("cam").frames < len(packets)
        ) and (  # type: ignore[union-attr]
            time.monotonic() < deadline
        ):
            time.sleep(0.05)
        stats = hub.camera_stats("cam")
        return sum(len(p.data) for p in packets), 0 if stats is None else stats.bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--sizes", default="640x480,1280x720")
    parser.add_argument("--crf", default="23,20,17", help="libx264 CRFs to compare")
    parser.add_argument("--noise", default="0,2", help="sensor noise levels (grey levels)")
    args = parser.parse_args()
    print(machine_description())
    count = round(args.seconds * args.fps)
    crfs = [int(c) for c in args.crf.split(",")]
    rows: list[list[object]] = []
    for size in args.sizes.split(","):
        width, height = (int(v) for v in size.split("x"))
        for noise in (float(n) for n in args.noise.split(",")):
            scene = PhotoScene(width, height, args.fps, noise)
            frames = [scene.frame(i) for i in range(count)]
            j_bytes, j_psnr, j_cpu = measure_jpeg(frames)
            j_rate = j_bytes * args.fps / count
            label = f"{width}x{height}" + (f", noise {noise:g}" if noise else "")
            rows.append(
                [label, "JPEG q85", j_rate / 1000, j_rate * 8 / 1e6, "1.00x", j_psnr, j_cpu]
            )
            for crf in crfs:
                h_bytes, h_psnr, h_cpu = measure_h264(frames, args.fps, crf)
                h_rate = h_bytes * args.fps / count
                rows.append(
                    [
                        label,
                        f"H.264 crf {crf}",
                        h_rate / 1000,
                        h_rate * 8 / 1e6,
                        ratio(j_rate, h_rate),
                        h_psnr,
                        h_cpu,
                    ]
                )
            print(f"{label} done", flush=True)
    print_table(
        f"One camera on the wire, {args.fps} fps, {count} frames of a photo scene with motion",
        [
            "scene",
            "encoding",
            "kB/s",
            "Mb/s",
            "JPEG bytes / these",
            "PSNR dB",
            "encode CPU ms/frame",
        ],
        rows,
    )
    first = args.sizes.split(",")[0]
    width, height = (int(v) for v in first.split("x"))
    scene = PhotoScene(width, height, args.fps, 0.0)
    sent, counted = live_check([scene.frame(i) for i in range(count)], args.fps, crfs[0])
    print(
        f"Live check, {first} H.264 crf {crfs[0]} through Sender -> Hub on 127.0.0.1: "
        f"{sent:,} payload bytes sent, {counted:,} counted by the hub"
    )


if __name__ == "__main__":
    main()
