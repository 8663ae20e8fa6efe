#!/usr/bin/env python3
"""Recording video cameras (issue 17's figures), side by side with JPEG segments of the
same scene, in one run.

The scene: 1280x720 at 15 fps cut from photographs shipped by scikit-image (a mosaic of
four, a cat walking across, sensor noise), encoded once as H.264 the way camhub's senders
do (libx264 ``ultrafast``/``zerolatency``, a keyframe every 2 s) and once as JPEG q85.

1. Recording cost: 8 cameras put into a real hub's store at 15 fps each (the one ingest
   path; the cameras' packets are the scene's, looped with time and ``seq`` going on),
   not recording and recording continuously, runs alternating; the hub process's CPU
   difference (target <= 2% of one core for H.264) and the recorder thread's own CPU.
2. Disk: bytes the recorded segments take per camera-hour (target: H.264 >= 4x fewer).
3. Clips over HTTP from the dashboard: one camera with 1 hour of H.264 recording
   (segments written straight to the index, faster than real time): a 1-minute clip's
   first byte (target <= 0.5 s) and a 1-hour clip complete (target <= 5 s); and the JPEG
   camera's 1-minute clip (transcoded on request) for comparison.

    PYTHONPATH=. python bench/bench_record_video.py [--seconds 10] [--runs 3] [--only cost|clips] [--quick]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import psutil

import camhub
from bench.common import machine_description, median, print_table, ratio, usage
from camhub.history import History
from camhub.record.index import SegmentIndex
from camhub.record.segment import SegmentWriter
from camhub.record.settings import CameraRecording, RecordSettings
from camhub.record.video_segment import VideoSegmentWriter
from camhub.types import Frame
from camhub.video.codecconfig import track_config
from camhub.video.packet import TIME_BASE, VideoPacket
from camhub.web import WebServer

CAMERAS = 8
FPS = 15
SIZE = (1280, 720)
GOP = 2 * FPS
CURL = shutil.which("curl")


# -- the scene --------------------------------------------------------------------------


def scene(count: int, size: tuple[int, int] = SIZE) -> list[np.ndarray]:
    import cv2
    from skimage import data

    w, h = size
    tiles = [data.coffee(), data.rocket(), data.chelsea(), data.astronaut()]
    half = (w // 2, h // 2)
    tiles = [cv2.resize(t[:, :, ::-1], half, interpolation=cv2.INTER_AREA) for t in tiles]
    background = np.vstack([np.hstack(tiles[:2]), np.hstack(tiles[2:])])
    cat = data.cat()[:, :, ::-1]
    sw = w // 5
    sprite = cv2.resize(cat, (sw, sw * cat.shape[0] // cat.shape[1]), interpolation=cv2.INTER_AREA)
    sh = sprite.shape[0]
    rng = np.random.default_rng(0)
    frames = []
    for i in range(count):
        img = background.copy()
        x = (i * w // (8 * FPS)) % (w - sw)  # crosses the picture in about 6 s
        y = h // 2 - sh // 2 + int(20 * np.sin(i / 5))
        img[y : y + sh, x : x + sw] = sprite
        noise = rng.normal(0, 2.0, img.shape).astype(np.float32)
        frames.append(np.clip(img + noise, 0, 255).astype(np.uint8))
    return frames


def encode_h264(frames: list[np.ndarray]) -> list[tuple[bool, bytes]]:
    import av

    ctx: Any = av.CodecContext.create("libx264", "w")
    ctx.height, ctx.width = frames[0].shape[:2]
    ctx.pix_fmt = "yuv420p"
    ctx.time_base = Fraction(1, FPS)
    ctx.framerate = FPS
    ctx.gop_size = GOP
    ctx.options = {"preset": "ultrafast", "tune": "zerolatency"}
    out = []
    for i, img in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(img, format="bgr24").reformat(format="yuv420p")
        frame.pts = i
        out += [(bool(p.is_keyframe), bytes(p)) for p in ctx.encode(frame)]
    out += [(bool(p.is_keyframe), bytes(p)) for p in ctx.encode(None)]
    return out


@dataclass(frozen=True, slots=True)
class Scene:
    h264: list[tuple[bool, bytes]]
    jpeg: list[bytes]

    def frame(self, kind: str, camera: str, i: int, at: float) -> Frame:
        if kind == "jpeg":
            jpeg = self.jpeg[i % len(self.jpeg)]
            return Frame(camera, jpeg=jpeg, seq=i, captured_at=at, received_at=at,
                         width=SIZE[0], height=SIZE[1])  # fmt: skip
        key, data = self.h264[i % len(self.h264)]
        packet = VideoPacket("h264", data, key, pts=i * TIME_BASE // FPS)
        return Frame(camera, video=packet, seq=i, captured_at=at, received_at=at)


# -- 1 and 2: recording cost and bytes on disk ----------------------------------------------


@dataclass(frozen=True, slots=True)
class CostRun:
    cpu: float
    """% of one core, whole hub process."""
    recorder_cpu: float
    """% of one core, the recorder thread alone."""
    fps: float
    bytes_per_hour: float
    """Per camera, on disk (recording runs only)."""
    dropped: int


def _thread_cpu(native_id: int | None) -> float:
    for t in psutil.Process().threads():
        if t.id == native_id:
            return float(t.user_time + t.system_time)
    return 0.0


def cost_run(scene: Scene, kind: str, record: bool, seconds: float, warmup: float = 2.0) -> CostRun:
    with tempfile.TemporaryDirectory(prefix="camhub-bench-") as data:
        hub = camhub.Hub("tcp://127.0.0.1:0")
        history = None
        if record:
            settings = RecordSettings(default=CameraRecording("continuous"), min_free_gb=0.2)
            history = History(hub.store, hub.bus, Path(data), settings).start()
        hub.start()
        stop = threading.Event()
        names = [f"{kind}{c}" for c in range(CAMERAS)]
        put = 0

        def cameras() -> None:
            nonlocal put
            start = time.monotonic()
            n = 0
            while not stop.is_set():
                i, c = divmod(n, CAMERAS)
                due = start + i / FPS + c / (FPS * CAMERAS)
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                hub.store.put(scene.frame(kind, names[c], i, time.time()), "camera")
                n += 1
                put = n

        feeder = threading.Thread(target=cameras, daemon=True)
        feeder.start()
        rec = None if history is None else history.recorder
        tid = None if rec is None or rec._thread is None else rec._thread.native_id
        try:
            time.sleep(warmup)
            put0, u0, r0 = put, usage(), _thread_cpu(tid)
            time.sleep(seconds)
            put1, u1, r1 = put, usage(), _thread_cpu(tid)
        finally:
            stop.set()
            feeder.join(5)
            hub.stop()
        per_hour, dropped = 0.0, 0
        if history is not None:
            dropped = history.recorder.frames.dropped if history.recorder else 0
            history.stop()
            index = SegmentIndex.open(Path(data))
            segs = index.find()
            span = sum(s.end - s.start for s in segs)
            per_hour = sum(s.bytes for s in segs) / span * 3600 if span else float("nan")
            index.close()
    wall = u1.at - u0.at
    return CostRun(
        100 * (u1.cpu - u0.cpu) / wall, 100 * (r1 - r0) / wall, (put1 - put0) / wall,
        per_hour, dropped,
    )  # fmt: skip


def recording_costs(scene: Scene, seconds: float, runs: int) -> dict[str, list[CostRun]]:
    results: dict[str, list[CostRun]] = {
        k: [] for k in ("h264 off", "h264 on", "jpeg off", "jpeg on")
    }
    for _ in range(runs):
        for kind in ("h264", "jpeg"):
            results[f"{kind} off"].append(cost_run(scene, kind, False, seconds))
            results[f"{kind} on"].append(cost_run(scene, kind, True, seconds))
    return results


# -- 3: clips over HTTP ---------------------------------------------------------------------


def write_hour(index: SegmentIndex, scene: Scene, camera: str, t0: float, seconds: float) -> int:
    """``seconds`` of H.264 recording in 10 s segments, as the recorder writes them."""
    total = 0
    count = int(seconds * FPS)
    track = track_config("h264", scene.h264[0][1])
    writer: VideoSegmentWriter | None = None
    sid = 0
    for i in range(count):
        key, data = scene.h264[i % len(scene.h264)]
        at = t0 + i / FPS
        if key and (writer is None or at - (writer.first or at) >= 10.0):
            if writer is not None:
                writer.close()
                index.update(sid, writer.last or at, writer.frames, writer.size, closed=True)
                total += writer.size
            path = index.root / camera / f"{at:.3f}.mp4"
            sid = index.add(camera, path, at, container="fmp4", codec="h264", mime=track.mime)
            writer = VideoSegmentWriter(path, track, at)
        assert writer is not None
        writer.write(at, VideoPacket("h264", data, key, pts=i * TIME_BASE // FPS))
    assert writer is not None
    writer.close()
    index.update(sid, writer.last or t0, writer.frames, writer.size, closed=True)
    return total + writer.size


def write_jpeg(index: SegmentIndex, scene: Scene, camera: str, t0: float, seconds: float) -> None:
    path = index.root / camera / f"{t0:.3f}.cseg"
    sid = index.add(camera, path, t0)
    writer = SegmentWriter(path)
    count = int(seconds * FPS)
    for i in range(count):
        writer.write(t0 + i / FPS, scene.jpeg[i % len(scene.jpeg)])
    writer.close()
    index.update(sid, t0 + (count - 1) / FPS, count, writer.size, closed=True)


def fetch(url: str) -> tuple[float, float, int, int]:
    """(s to the first body byte, s to the last, bytes, HTTP status), read by curl in its
    own process as a browser would (a Python client in the hub's process would compete
    with the hub for its CPU and its GIL); httpx here where curl is missing."""
    if CURL:
        out = subprocess.run(
            [CURL, "-s", "-o", "/dev/null", "-w",
             "%{time_starttransfer} %{time_total} %{size_download} %{http_code}", url],
            capture_output=True, text=True, timeout=600, check=True,
        ).stdout.split()  # fmt: skip
        return float(out[0]), float(out[1]), int(out[2]), int(out[3])
    import httpx

    t0 = time.perf_counter()
    first = 0.0
    size = 0
    with httpx.stream("GET", url, timeout=600) as resp:
        for chunk in resp.iter_raw():
            first = first or time.perf_counter() - t0
            size += len(chunk)
        return first, time.perf_counter() - t0, size, resp.status_code


def clip_times(scene: Scene, hour: float, jpeg_seconds: float, runs: int) -> list[list[object]]:
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory(prefix="camhub-bench-") as data:
        t0 = time.time() - hour - 600
        index = SegmentIndex.open(Path(data))
        began = time.perf_counter()
        size = write_hour(index, scene, "video", t0, hour)
        print(f"(wrote {hour:g} s of H.264 recording, {size / 1e6:.0f} MB, "
              f"in {time.perf_counter() - began:.1f} s)")  # fmt: skip
        if jpeg_seconds:
            write_jpeg(index, scene, "jpeg", t0, 30.0 + jpeg_seconds)
        index.close()
        hub = camhub.Hub("tcp://127.0.0.1:0")
        history = History(hub.store, hub.bus, Path(data), RecordSettings(min_free_gb=0.2)).start()
        web = WebServer(hub, "127.0.0.1:0", history=history).start()
        base = web.url + "api/recordings/clip.mp4?camera="
        try:
            fetch(web.url + "api/recording")  # the first request warms the server up
            api = sorted(fetch(web.url + "api/recording")[1] for _ in range(5))[2]
            rows.append(["(a JSON request, /api/recording, for scale)", 200, api, api,
                         float("nan"), float("nan"), "", ""])  # fmt: skip
            cases = [
                ("H.264, 1-minute clip (remux)", "video", 60.0, runs, "first byte <= 0.5 s"),
                (f"H.264, {hour / 60:g}-minute clip (remux)", "video", hour, runs,
                 "complete <= 5 s"),
            ]  # fmt: skip
            if jpeg_seconds:
                cases.append((f"JPEG, {jpeg_seconds:g} s clip (H.264 transcode)", "jpeg",
                              jpeg_seconds, 1, ""))  # fmt: skip
            for title, camera, length, repeat, target in cases:
                start = t0 + 30.0 if length < hour else t0
                times = []
                for n in range(repeat):  # a new range each time: nothing cached
                    u0 = usage()
                    url = f"{base}{camera}&start={start + n * 0.001}&end={start + length}"
                    first, done, got, status = fetch(url)
                    times.append((first, done, usage().cpu - u0.cpu, got, status))
                first, done, cpu, got, status = sorted(times)[(len(times) - 1) // 2]
                each = ", ".join(f"{t[0]:.2f}/{t[1]:.2f}" for t in times)
                rows.append([title, status, first, done, cpu, got / 1e6, target, each])
        finally:
            web.stop()
            history.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description="recording video cameras: cost, disk, clips")
    parser.add_argument("--seconds", type=float, default=10.0, help="measuring time per run")
    parser.add_argument("--runs", type=int, default=3, help="runs per case (median printed)")
    parser.add_argument("--hour", type=float, default=3600.0, help="recording length for clips")
    parser.add_argument("--jpeg-clip", type=float, default=60.0, help="JPEG clip (0: skip)")
    parser.add_argument(
        "--only", choices=("cost", "clips"), help="only the recording cost and disk, or the clips"
    )
    parser.add_argument("--quick", action="store_true", help="short runs (a smoke test)")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.runs, args.hour, args.jpeg_clip = 2.0, 1, 120.0, 5.0

    print(f"machine: {machine_description()}")
    frames = scene((2 if args.quick else 6) * GOP)  # 12 s, looped
    h264 = encode_h264(frames)
    jpeg = [camhub.encode_jpeg(f, quality=85) for f in frames]
    loop_s = len(frames) / FPS
    h264_rate = sum(len(d) for _k, d in h264) / loop_s
    jpeg_rate = sum(len(j) for j in jpeg) / loop_s
    print(f"scene: {SIZE[0]}x{SIZE[1]} at {FPS} fps, {len(frames)} frames looped; "
          f"H.264 {h264_rate * 8 / 1e6:.2f} Mb/s (keyframe every {GOP // FPS} s), "
          f"JPEG q85 {jpeg_rate * 8 / 1e6:.1f} Mb/s ({jpeg_rate / FPS / 1e3:.0f} kB a frame)")  # fmt: skip
    data = Scene(h264, jpeg)

    if args.only != "clips":
        cost_and_disk(data, args.seconds, args.runs)
    if args.only != "cost":
        print_table(
            f"Clips over HTTP from the dashboard, read by {'curl' if CURL else 'httpx'} "
            "(median run by first byte)",
            ["clip", "status", "first byte s", "complete s", "hub CPU s", "MB", "target",
             "runs: first byte/complete s"],
            clip_times(data, args.hour, args.jpeg_clip, args.runs),
        )  # fmt: skip


def cost_and_disk(data: Scene, seconds: float, runs: int) -> None:
    results = recording_costs(data, seconds, runs)

    def med(key: str, field: str) -> float:
        return median([getattr(r, field) for r in results[key]])

    rows = []
    for kind, label in (("h264", "H.264 (fMP4 segments)"), ("jpeg", "JPEG (JPEG segments)")):
        off, on = med(f"{kind} off", "cpu"), med(f"{kind} on", "cpu")
        rows.append([label, off, on, on - off, med(f"{kind} on", "recorder_cpu"),
                     med(f"{kind} on", "fps"), sum(r.dropped for r in results[f"{kind} on"]),
                     ", ".join(f"{a.cpu:.1f}/{b.cpu:.1f}" for a, b in
                               zip(results[f"{kind} off"], results[f"{kind} on"], strict=True))])  # fmt: skip
    print_table(
        f"Recording {CAMERAS} cameras of 720p{FPS} continuously: hub CPU, % of one core "
        f"(median of {runs} runs of {seconds:g} s)",
        ["segments", "not recording", "recording", "cost of recording (target <= 2 for H.264)",
         "recorder thread", "frames/s in", "recorder drops", "runs off/on"],
        rows,
    )  # fmt: skip
    h264_disk, jpeg_disk = med("h264 on", "bytes_per_hour"), med("jpeg on", "bytes_per_hour")
    print_table(
        "Bytes on disk per camera-hour (from the recorded segments)",
        ["segments", "GB per hour", "fewer than JPEG (target >= 4x)"],
        [["H.264 (fMP4)", h264_disk / 1e9, ratio(jpeg_disk, h264_disk)],
         ["JPEG", jpeg_disk / 1e9, "1.00x"]],
    )  # fmt: skip


if __name__ == "__main__":
    main()
