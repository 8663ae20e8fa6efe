#!/usr/bin/env python3
"""What recording and events cost the hub, measured (issue 10's targets).

The hub runs in this process, so its CPU time (all threads) and RSS can be read; the
cameras run in another process, as they would in real life.

1. Recording cost: 8 cameras, 640x480 JPEG at 15 fps, into a hub without recording and
   into a hub recording every camera continuously (segments on the local disk). Runs
   alternate; the medians are compared. Target: recording costs <= 15% of one core more.
2. Memory: hub RSS at the start and end of a longer continuous-recording run (8
   cameras). Target: grows < 10% (the issue asks for 10 minutes: --memory-seconds 600).
3. Event latency: a camera whose picture is still, then has a moving box, in a loop;
   the motion processor (default debounce: 3 frames) raises an event. Time from the
   arrival of the first moving frame at the hub to the ``new`` event delivered to a bus
   subscriber (where MQTT, webhooks and the dashboard's live stream pick it up).

    PYTHONPATH=. python bench/bench_record.py [--seconds 10] [--runs 3] [--memory-seconds 60]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from multiprocessing.synchronize import Event as MpEvent
from pathlib import Path

import camhub
from bench.common import (
    machine_description,
    median,
    mp_context,
    percentile,
    print_table,
    test_frame,
    usage,
)
from camhub.events import EventUpdate
from camhub.history import History
from camhub.record.settings import CameraRecording, RecordSettings

CAMERAS = [f"cam{i}" for i in range(8)]
FPS = 15.0


# -- the cameras' process ---------------------------------------------------------------


def send_cameras(endpoint: str, names: list[str], fps: float, stop: MpEvent) -> None:
    frames = [camhub.encode_jpeg(test_frame(seed)) for seed in range(4)]

    def one(name: str) -> None:
        with camhub.Sender(endpoint, window=8, timeout=5.0) as sender:
            i = 0
            next_at = time.monotonic()
            while not stop.is_set():
                sender.send_jpeg(name, frames[i % len(frames)], width=640, height=480)
                i += 1
                next_at += 1 / fps
                time.sleep(max(0.0, next_at - time.monotonic()))

    threads = [threading.Thread(target=one, args=(n,), daemon=True) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def send_motion(endpoint: str, fps: float, still_s: float, move_s: float, stop: MpEvent) -> None:
    base = test_frame(1)
    still = camhub.encode_jpeg(base)
    with camhub.Sender(endpoint, window=8, timeout=5.0) as sender:
        next_at = time.monotonic()
        i = 0
        period = int((still_s + move_s) * fps)
        while not stop.is_set():
            phase = i % period
            if phase < still_s * fps:
                jpeg = still
            else:
                img = base.copy()
                x = 20 + int(phase * 12) % 520
                img[150:270, x : x + 90] = (30, 220, 250)
                jpeg = camhub.encode_jpeg(img)
            sender.send_jpeg("door", jpeg, width=640, height=480)
            i += 1
            next_at += 1 / fps
            time.sleep(max(0.0, next_at - time.monotonic()))


# -- measurements --------------------------------------------------------------------


def hub_run(seconds: float, record: bool, warmup: float = 3.0) -> tuple[float, float, int, int]:
    """(% of one core, frames/s, RSS at start of measuring, RSS at end)."""
    ctx = mp_context()
    with tempfile.TemporaryDirectory(prefix="camhub-bench-") as data:
        hub = camhub.Hub("tcp://127.0.0.1:0")
        history = None
        if record:
            settings = RecordSettings(default=CameraRecording("continuous"), min_free_gb=0.2)
            history = History(hub.store, hub.bus, Path(data), settings).start()
        hub.start()
        stop = ctx.Event()
        proc = ctx.Process(target=send_cameras, args=(hub.endpoint, CAMERAS, FPS, stop))
        proc.start()
        try:
            time.sleep(warmup)
            frames0 = sum(s.frames for s in hub.stats())
            u0 = usage()
            time.sleep(seconds)
            u1 = usage()
            frames1 = sum(s.frames for s in hub.stats())
        finally:
            stop.set()
            proc.join(10)
            hub.stop()
            if history is not None:
                rec = history.recorder
                dropped = 0 if rec is None else rec.frames.dropped
                history.stop()
                if dropped:
                    print(f"(recorder dropped {dropped} frames in this run)")
    wall = u1.at - u0.at
    return 100 * (u1.cpu - u0.cpu) / wall, (frames1 - frames0) / wall, u0.rss, u1.rss


def event_latency(cycles: int) -> list[float]:
    ctx = mp_context()
    latencies: list[float] = []
    with tempfile.TemporaryDirectory(prefix="camhub-bench-") as data:
        hub = camhub.Hub("tcp://127.0.0.1:0")
        settings = RecordSettings(default=CameraRecording("events"), min_free_gb=0.2)
        history = History(hub.store, hub.bus, Path(data), settings).start()
        got = threading.Semaphore(0)

        def on_update(update: EventUpdate) -> None:
            if update.type == "new" and update.after.label == "motion":
                latencies.append(time.time() - update.after.start)
                got.release()

        sub = hub.bus.subscribe(on_update, name="bench", kinds=(EventUpdate,))
        hub.start()
        hub.add_processor("motion", ["door"])
        stop = ctx.Event()
        proc = ctx.Process(target=send_motion, args=(hub.endpoint, FPS, 4.0, 1.5, stop))
        proc.start()
        try:
            for _ in range(cycles):
                if not got.acquire(timeout=20):
                    print("(no motion event within 20 s)")
                    break
        finally:
            stop.set()
            proc.join(10)
            sub.close()
            hub.stop()
            history.stop()
    return latencies


def clip_speed(seconds: float) -> tuple[float, float, int]:
    """Transcode ``seconds`` of one recorded 640x480 15 fps camera to MP4:
    (CPU seconds, wall seconds, MP4 bytes)."""
    from camhub.record.clip import ClipExporter
    from camhub.record.index import SegmentIndex
    from camhub.record.segment import SegmentWriter

    with tempfile.TemporaryDirectory(prefix="camhub-bench-") as data:
        index = SegmentIndex.open(Path(data))
        frames = [camhub.encode_jpeg(test_frame(seed)) for seed in range(4)]
        t0 = time.time() - seconds - 60
        count = int(seconds * FPS)
        path = index.root / "cam" / "seg.cseg"
        sid = index.add("cam", path, t0)
        writer = SegmentWriter(path)
        for i in range(count):
            writer.write(t0 + i / FPS, frames[i % 4])
        writer.close()
        index.update(sid, t0 + (count - 1) / FPS, count, writer.size, closed=True)
        exporter = ClipExporter(index, Path(data) / "clips")
        u0 = usage()
        mp4 = exporter.export("cam", t0, t0 + seconds).result(600)
        u1 = usage()
        size = mp4.stat().st_size
        exporter.close()
        index.close()
    return u1.cpu - u0.cpu, u1.at - u0.at, size


def main() -> None:
    parser = argparse.ArgumentParser(description="recording and event costs on the hub")
    parser.add_argument("--seconds", type=float, default=10.0, help="measuring time per run")
    parser.add_argument("--runs", type=int, default=3, help="runs per case (median printed)")
    parser.add_argument(
        "--memory-seconds", type=float, default=60.0, help="length of the memory run"
    )
    parser.add_argument("--cycles", type=int, default=5, help="motion events to time")
    parser.add_argument("--clip-seconds", type=float, default=60.0, help="clip to transcode")
    parser.add_argument(
        "--only",
        choices=("cost", "memory", "latency", "clip"),
        action="append",
        help="run only these sections (repeatable; default all)",
    )
    parser.add_argument("--quick", action="store_true", help="short runs (a smoke test)")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.runs, args.memory_seconds, args.cycles = 3.0, 1, 5.0, 2
        args.clip_seconds = 5.0
    only = set(args.only or ("cost", "memory", "latency", "clip"))

    print(f"machine: {machine_description()}")
    print(f"8 cameras, 640x480 JPEG (~{len(camhub.encode_jpeg(test_frame(0))) // 1000} kB) "
          f"at {FPS:g} fps each; hub in this process, cameras in another")  # fmt: skip
    if "cost" in only:
        recording_cost(args.seconds, args.runs)
    if "memory" in only:
        _cpu, _fps, rss0, rss1 = hub_run(args.memory_seconds, record=True, warmup=5.0)
        print_table(
            f"Memory while recording 8 cameras for {args.memory_seconds:g} s",
            ["RSS at start (MB)", "RSS at end (MB)", "growth % (target < 10)"],
            [[rss0 / 1e6, rss1 / 1e6, 100 * (rss1 - rss0) / rss0]],
        )
    if "latency" in only:
        lat = [1000 * x for x in event_latency(args.cycles)]
        print_table(
            "Event latency: first moving frame at the hub -> `new` event on the bus (ms)",
            ["events", "median", "p90", "max", "debounce"],
            [[len(lat), median(lat), percentile(lat, 90), max(lat, default=float("nan")),
              f"3 frames: {2000 / FPS:.0f} ms at {FPS:g} fps"]],
        )  # fmt: skip
    if "clip" in only:
        cpu, wall, size = clip_speed(args.clip_seconds)
        print_table(
            f"Clip export: {args.clip_seconds:g} s of 640x480 at {FPS:g} fps to H.264 MP4",
            ["wall s", "CPU s", "x real time (wall)", "MP4 MB"],
            [[wall, cpu, args.clip_seconds / wall, size / 1e6]],
        )


def recording_cost(seconds: float, runs: int) -> None:
    off: list[tuple[float, float, int, int]] = []
    on: list[tuple[float, float, int, int]] = []
    for _ in range(runs):
        off.append(hub_run(seconds, record=False))
        on.append(hub_run(seconds, record=True))
    cpu_off, cpu_on = median([r[0] for r in off]), median([r[0] for r in on])
    print_table(
        "Recording cost (hub CPU, % of one core; median of runs)",
        ["case", "hub CPU %", "frames/s in", "runs (CPU %)"],
        [
            ["not recording", cpu_off, median([r[1] for r in off]),
             ", ".join(f"{r[0]:.1f}" for r in off)],
            ["recording 8 cameras continuously", cpu_on, median([r[1] for r in on]),
             ", ".join(f"{r[0]:.1f}" for r in on)],
            ["difference (target <= 15)", cpu_on - cpu_off, float("nan"), ""],
        ],
    )  # fmt: skip


if __name__ == "__main__":
    main()
