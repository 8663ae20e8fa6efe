#!/usr/bin/env python3
"""The phone page's bytes on the wire: WebCodecs video against its own JPEG mode, at
the same size, in one run (issue 17).

A real chromium page (Debian's chromium through Playwright) streams into a hub over
HTTPS, first with ``Encoding: JPEG`` then with ``Encoding: Video`` (the page picks the
first encoder the browser has: H.264 in Debian's chromium, through its OpenH264, as no
GPU is here), both at the page's default quality (medium). Its camera is chromium's fake
capture device fed from a Y4M file of the scene in ``bench/bench_video.py`` (scikit-image's
real photographs in a 2x2 collage with the astronaut walking across, 15 fps), and, for
comparison, chromium's built-in synthetic pattern (a flat green picture with a moving
pie: far easier for a video encoder than a real scene).

Bytes per second are the page's frame messages as the hub received them (header and
payload; WebSocket and TLS framing add the same few bytes per message to both), counted
by the hub's per-phone counters over the measured window. Quality: pictures the hub
decodes (a few per mode) against the scene's source frames, PSNR over all three
channels, each compared with the source frame it shows (the best match: the capture
loop's timing is the browser's). Both modes go through the same capture (Y4M -> the
camera track -> the page), so the PSNR compares the encoders.

    python -m bench.bench_phone_video [--seconds 6] [--sizes 640x480,1280x720] [--quick]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench.bench_video import PhotoScene, psnr
from bench.common import machine_description, print_table, ratio

FPS = 15
SCENE_FRAMES = 90
"""6 s of the scene; chromium loops the file."""
TARGET = 4.0
"""Issue 17: video bytes per second at least 4x fewer than the page's JPEG mode."""
SAMPLES = 8


def write_y4m(path: Path, scene: PhotoScene, count: int) -> list[np.ndarray]:
    """The scene as a Y4M file (I420, limited range as swscale makes it) chromium's fake
    camera plays; returns the source frames (BGR)."""
    import av

    frames = [scene.frame(i) for i in range(count)]
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{scene.width} H{scene.height} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for image in frames:
            yuv = av.VideoFrame.from_ndarray(image, format="bgr24").reformat(format="yuv420p")
            out.write(b"FRAME\n")
            for plane, (w, h) in zip(
                yuv.planes,
                [(scene.width, scene.height), *[(scene.width // 2, scene.height // 2)] * 2],
                strict=True,
            ):
                rows = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
                out.write(rows[:h, :w].tobytes())
    return frames


def best_psnr(picture: np.ndarray, sources: list[np.ndarray], thumbs: list[np.ndarray]) -> float:
    """PSNR against the source frame the picture shows (found on small grey copies)."""
    small = _thumb(picture)
    best = min(range(len(thumbs)), key=lambda i: float(np.mean((thumbs[i] - small) ** 2)))
    return psnr(picture, sources[best])


def _thumb(image: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return cv2.resize(grey, (80, 60), interpolation=cv2.INTER_AREA).astype(np.float32)


def run_scene(
    label: str,
    size: tuple[int, int],
    y4m: Path | None,
    sources: list[np.ndarray],
    seconds: float,
) -> list[list[object]]:
    """One browser, one hub, one page: JPEG mode, then video mode. Rows for the table."""
    from playwright.sync_api import sync_playwright

    import camhub
    from camhub.phones import DeviceRegistry
    from camhub.security.certs import ensure_certificate
    from camhub.web import WebServer
    from camhub.web.browser import CHROMIUM, CHROMIUM_ARGS
    from camhub.web.phone import Phones

    fake = [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        "--ignore-certificate-errors",
    ]
    if y4m is not None:
        fake.append(f"--use-file-for-fake-video-capture={y4m}")
    thumbs = [_thumb(s) for s in sources]
    rows: list[list[object]] = []
    measured: dict[str, tuple[float, float, float, str]] = {}
    with tempfile.TemporaryDirectory() as folder:
        hub = camhub.Hub(bind="tcp://127.0.0.1:0").start()
        registry = DeviceRegistry(folder)
        cert, key = ensure_certificate(Path(folder))
        phones = Phones(registry, hub.store.put, limits=hub.limits, bus=hub.bus)
        web = WebServer(hub, "127.0.0.1:0", tls_cert=cert, tls_key=key, phones=phones).start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *fake])
                page = browser.new_context(ignore_https_errors=True).new_page()
                page.goto(f"https://127.0.0.1:{web.port}/cam?pair={registry.pairing_code}")
                page.fill("#name", "bench")
                page.select_option("#size", f"{size[0]}x{size[1]}")
                page.select_option("#fps", str(FPS))
                page.select_option("#codec", "jpeg")
                page.click("#start")
                for mode in ("jpeg", "auto"):
                    page.select_option("#codec", mode)
                    codec = _wait_codec(page, mode)
                    time.sleep(3.0)  # warm-up: camera, encoder, rate control
                    before = _client(phones)
                    start = time.monotonic()
                    time.sleep(seconds)
                    after = _client(phones)
                    elapsed = time.monotonic() - start
                    rate = (after.bytes - before.bytes) / elapsed
                    fps = (after.frames - before.frames) / elapsed
                    quality = _quality(hub, sources, thumbs) if sources else float("nan")
                    measured[mode] = (rate, fps, quality, codec)
                browser.close()
        finally:
            web.stop()
            hub.stop()
    jpeg_rate = measured["jpeg"][0]
    for mode in ("jpeg", "auto"):
        rate, fps, quality, codec = measured[mode]
        per_frame = rate / fps if fps else float("nan")
        fewer = "" if mode == "jpeg" else ratio(jpeg_rate, rate)
        met = "" if mode == "jpeg" else ("yes" if jpeg_rate >= TARGET * rate else "NO")
        name = "JPEG (medium)" if mode == "jpeg" else f"WebCodecs {codec} (medium)"
        rows.append([label, f"{size[0]}x{size[1]}", name, fps, rate / 1000, per_frame / 1000])
        rows[-1] += [quality, fewer, met]
    return rows


def _wait_codec(page: Any, mode: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = page.evaluate("() => Object.assign({}, document.body.dataset)")
        codec = state.get("codec", "")
        if state.get("state") == "live" and codec and (codec == "jpeg") == (mode == "jpeg"):
            return str(codec)
        time.sleep(0.1)
    raise RuntimeError(f"the page did not stream in {mode} mode: {state}")


def _client(phones: Any) -> Any:
    for c in phones.gate.clients():
        if c.client == "bench":
            return c
    raise RuntimeError("the page never streamed into the hub")


def _quality(hub: Any, sources: list[np.ndarray], thumbs: list[np.ndarray]) -> float:
    values = []
    for _ in range(SAMPLES):
        frame = hub.latest("bench")
        if frame is not None:
            values.append(best_psnr(frame.image, sources, thumbs))
        time.sleep(0.3)
    return float(np.mean(values)) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="measured window per mode")
    parser.add_argument("--sizes", default="640x480,1280x720", help="picture sizes (photo scene)")
    parser.add_argument("--quick", action="store_true", help="640x480 only, short windows")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.sizes = 2.0, "640x480"
    print(f"machine: {machine_description()}")
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as folder:
        for text in args.sizes.split(","):
            w, h = (int(v) for v in text.split("x"))
            y4m = Path(folder) / f"scene-{w}x{h}.y4m"
            sources = write_y4m(y4m, PhotoScene(w, h, FPS, 0.0), SCENE_FRAMES)
            rows += run_scene("photographs, walker", (w, h), y4m, sources, args.seconds)
    if not args.quick:
        rows += run_scene("chromium's synthetic pattern", (640, 480), None, [], args.seconds)
    print_table(
        f"Phone page bytes on the wire, WebCodecs vs its JPEG mode (target: >= {TARGET:g}x "
        f"fewer bytes/s), {FPS} fps asked",
        [
            "scene",
            "size",
            "page encoding",
            "frames/s",
            "kB/s",
            "kB/frame",
            "PSNR dB",
            "JPEG bytes / these",
            "target met",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
