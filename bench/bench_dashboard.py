#!/usr/bin/env python3
"""Dashboard and processor costs on the hub, measured (issue 4's targets).

The hub and its dashboard run in this process (so JPEG encodes can be counted and CPU
time read); the 8 test-pattern cameras (camhub send's agent), the MJPEG viewers and chromium run in other
processes, as they would in real life.

1. Ingest under viewers: hub frames/s with 8 cameras at 30 fps (640x480 JPEG), with no
   viewers, with 4 real chromium pages on the grid (Debian's chromium via Playwright;
   the grid asks for at most 15 fps per tile) and with 4 MJPEG HTTP clients each
   reading all 8 cameras at full rate (32 streams). Target: >= 95% of the no-viewer rate.
2. Display cost: JPEG encodes on the hub while viewers watch (expected 0: senders send
   JPEG) and hub CPU time per second with and without viewers.
3. Processor isolation: a 200 ms processor on one camera; every other camera's ingest
   and processing rate should stay at full rate.

    python bench/bench_dashboard.py [--seconds 6] [--no-browser]
"""

from __future__ import annotations

import argparse
import functools
import http.client
import multiprocessing as mp
import os
import threading
import time
from collections.abc import Callable
from multiprocessing.synchronize import Event as MpEvent
from typing import Any
from urllib.parse import quote, urlsplit

import camhub
import camhub.jpeg
from camhub.processing import ProcessorRunner
from camhub.web import WebServer
from camhub.web.browser import CHROMIUM, CHROMIUM_ARGS

CAMERAS = [f"cam{i}" for i in range(8)]
FPS = 30.0
SIZE = (640, 480)


# -- other processes ------------------------------------------------------------------


def run_cameras(endpoint: str, stop: MpEvent) -> None:
    from camhub.agent import Agent, CameraJob

    w, h = SIZE
    jobs = [CameraJob(n, f"testsrc:{w}x{h}@{FPS:g}") for n in CAMERAS]
    agent = Agent(endpoint, jobs).start()
    stop.wait()
    agent.stop()


def run_mjpeg_viewers(url: str, viewers: int, stop: MpEvent, out: Any) -> None:
    parts = urlsplit(url)
    counts = [0] * (viewers * len(CAMERAS))

    def read(slot: int, camera: str) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
        conn.request("GET", f"/api/cameras/{quote(camera, safe='')}/stream.mjpg")
        resp = conn.getresponse()
        while not stop.is_set():
            chunk = resp.read1(1 << 16)
            if not chunk:
                break
            counts[slot] += chunk.count(b"--camhubframe\r\n")
        conn.close()

    threads = [
        threading.Thread(target=read, args=(v * len(CAMERAS) + i, cam), daemon=True)
        for v in range(viewers)
        for i, cam in enumerate(CAMERAS)
    ]
    started = time.monotonic()
    for t in threads:
        t.start()
    stop.wait()
    out.put((sum(counts), time.monotonic() - started, len(threads)))


def run_browsers(url: str, viewers: int, stop: MpEvent, out: Any) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pages = [browser.new_page(viewport={"width": 1280, "height": 900}) for _ in range(viewers)]
        for page in pages:
            page.goto(url)
        started = time.monotonic()
        while not stop.wait(0.2):
            pass
        shown = sum(
            page.evaluate(
                "() => Array.from(document.querySelectorAll('.tile img'))"
                ".reduce((n, i) => n + Number(i.dataset.shown || 0), 0)"
            )
            for page in pages
        )
        elapsed = time.monotonic() - started
        tiles = sum(page.locator(".tile").count() for page in pages)
        browser.close()
    out.put((shown, elapsed, tiles))


# -- measurements in the hub process ----------------------------------------------------


def measure(hub: camhub.Hub, seconds: float) -> dict[str, float]:
    def total() -> int:
        return sum(s.frames for s in hub.stats())

    f0, c0, t0 = total(), time.process_time(), time.monotonic()
    time.sleep(seconds)
    f1, c1, t1 = total(), time.process_time(), time.monotonic()
    return {"fps": (f1 - f0) / (t1 - t0), "cpu": (c1 - c0) / (t1 - t0)}


def scenario(
    hub: camhub.Hub, seconds: float, warmup: float, viewer: Callable[[MpEvent, Any], None] | None
) -> tuple[dict[str, float], float]:
    ctx = mp.get_context("spawn")
    stop, out = ctx.Event(), ctx.Queue()
    proc = None
    if viewer is not None:
        proc = ctx.Process(target=viewer, args=(stop, out), daemon=True)
        proc.start()
    time.sleep(warmup)
    result = measure(hub, seconds)
    per_stream = 0.0
    if proc is not None:
        stop.set()
        count, elapsed, streams = out.get(timeout=60)
        per_stream = count / elapsed / max(1, streams)
        proc.join(30)
    return result, per_stream


def main() -> None:
    parser = argparse.ArgumentParser(description="dashboard/processor costs on the hub")
    parser.add_argument("--seconds", type=float, default=6.0, help="measuring time per case")
    parser.add_argument("--no-browser", action="store_true", help="skip the chromium case")
    args = parser.parse_args()

    encodes = 0
    real_encode = camhub.jpeg.encode_jpeg

    def counting_encode(*a: Any, **kw: Any) -> bytes:
        nonlocal encodes
        encodes += 1
        return real_encode(*a, **kw)

    camhub.jpeg.encode_jpeg = counting_encode  # type: ignore[assignment]

    hub = camhub.Hub(bind="tcp://127.0.0.1:0", offline_after=5.0).start()
    web = WebServer(hub, "127.0.0.1:0").start()
    ctx = mp.get_context("spawn")
    cams_stop = ctx.Event()
    cams = ctx.Process(target=run_cameras, args=(hub.endpoint, cams_stop), daemon=True)
    cams.start()
    print(
        f"hub {hub.endpoint}, dashboard {web.url}, {os.cpu_count()} CPUs; "
        f"{len(CAMERAS)} cameras {SIZE[0]}x{SIZE[1]} JPEG @ {FPS:g} fps; "
        f"{args.seconds:g} s per case"
    )
    try:
        deadline = time.monotonic() + 20
        while len(hub.stats()) < len(CAMERAS) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2.0)
        jpeg_kb = sum(len(f.jpeg or b"") for n in CAMERAS if (f := hub.latest(n))) / 8 / 1024
        print(f"average JPEG {jpeg_kb:.0f} KiB")

        base, _ = scenario(hub, args.seconds, 0.5, None)
        print(
            f"\n[ingest] no viewers:                 {base['fps']:6.1f} frames/s, "
            f"hub CPU {base['cpu'] * 100:5.1f}%"
        )
        rows = []
        if not args.no_browser and os.path.exists(CHROMIUM):
            enc0 = encodes
            res, shown = scenario(
                hub, args.seconds, 6.0, functools.partial(run_browsers, web.url, 4)
            )
            rows.append(
                ("4 chromium pages (grid)", res, encodes - enc0, shown, "pictures shown per tile")
            )
        enc0 = encodes
        res, parts = scenario(
            hub, args.seconds, 1.5, functools.partial(run_mjpeg_viewers, web.url, 4)
        )
        rows.append(
            ("4 MJPEG clients x 8 cams", res, encodes - enc0, parts, "MJPEG parts read per stream")
        )
        for label, res, enc, seen, what in rows:
            ratio = res["fps"] / base["fps"] * 100
            print(
                f"[ingest] {label:28s} {res['fps']:6.1f} frames/s = {ratio:5.1f}% of no viewers "
                f"({'OK' if ratio >= 95 else 'BELOW'} target 95%), hub CPU {res['cpu'] * 100:5.1f}%, "
                f"JPEG encodes on hub: {enc}; {what}: {seen:.1f}/s"
            )

        # processor isolation
        def slow_on_cam0(frame: camhub.Frame) -> None:
            if frame.name == CAMERAS[0]:
                time.sleep(0.2)

        runner = ProcessorRunner(hub, slow_on_cam0).start()
        time.sleep(1.0)
        before = {s.name: s.frames for s in hub.stats()}
        done_before = {w.camera: w.processed for w in runner.stats()}
        t0 = time.monotonic()
        time.sleep(args.seconds)
        dt = time.monotonic() - t0
        ingest = {s.name: (s.frames - before[s.name]) / dt for s in hub.stats()}
        processed = {
            w.camera: (w.processed - done_before.get(w.camera, 0)) / dt for w in runner.stats()
        }
        runner.stop()
        others = CAMERAS[1:]
        print(f"\n[processor] 200 ms processor on {CAMERAS[0]} only:")
        print(
            f"  {CAMERAS[0]}: ingest {ingest[CAMERAS[0]]:.1f} fps, processed "
            f"{processed[CAMERAS[0]]:.1f} fps (the rest skipped and counted)"
        )
        print(
            f"  other 7 cameras: ingest min {min(ingest[c] for c in others):.1f} / "
            f"max {max(ingest[c] for c in others):.1f} fps, processed min "
            f"{min(processed[c] for c in others):.1f} fps (sending {FPS:g} fps)"
        )
    finally:
        cams_stop.set()
        cams.join(10)
        web.stop()
        hub.stop()


if __name__ == "__main__":
    main()
