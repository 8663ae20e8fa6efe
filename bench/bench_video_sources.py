"""Video at the sender (issue 17), side by side in one run:

    PYTHONPATH=. python -m bench.bench_video_sources [--seconds 8] [--runs 2]

1. Sender CPU for an RTSP H.264 camera (GStreamer's RTSP server, 1280x720, 30 fps,
   1.35 Mb/s): ``camhub send --codec auto`` (the camera's packets pass through) against
   ``--codec jpeg`` (decode + JPEG q85, what camhub always did). CPU of the whole send
   process per frame (psutil), bytes per second that reached the hub, runs interleaved.
2. RTSP reader latency (capture -> frame in the reader's hands) for the same camera
   drawing its send time into each picture: FFmpeg's RTSP demuxer + decoder (camhub's
   reader before) against camhub's RTSP client, 15 fps.
3. Frame age from capture to the hub: an RTSP camera passed through (the true age, from
   the barcode, beside the age the hub reports from the camera's RTCP capture time), and
   a sender-encoded source (the test pattern, 640x480 at 15 fps: H.264 and JPEG).

Bytes per second are those the hub counted (payloads). H.264 against JPEG q85 for a
sender-encoded camera, with PSNR, is ``bench/bench_video.py``'s.

It never asserts: it prints figures and ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_sources import cpu_seconds, send_process, stop  # noqa: E402
from camhub.hub import Hub  # noqa: E402
from camhub.sources import open_source  # noqa: E402
from camhub.types import Frame  # noqa: E402
from camhub.video.pictures import PictureDecoder  # noqa: E402
from tests.servers.rtsp import RTSPServer, rtsp_missing  # noqa: E402
from tests.servers.stamp import read_barcode  # noqa: E402


def stats_of(hub: Hub, name: str) -> tuple[int, int, str | None]:
    stats = hub.camera_stats(name)
    return (stats.frames, stats.bytes, stats.encoding) if stats else (0, 0, None)


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.1)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


# -- 1. sender CPU --------------------------------------------------------------------------


def sender_run(
    hub: Hub, url: str, name: str, codec: str, seconds: float
) -> tuple[float, float, float]:
    """(CPU ms per frame, frames/s, bytes/s at the hub) of one ``camhub send`` process."""
    proc = send_process(url, "--hub", hub.endpoint, "--name", name, "--codec", codec)
    try:
        # Counted, never decoded at the hub: only the sender's work is measured.
        want = "h264" if codec == "auto" else "jpeg"
        wait_for(lambda: stats_of(hub, name)[2] == want, 120, f"{name} to send {want}")
        time.sleep(1.0)
        ps = psutil.Process(proc.pid)
        cpu0, (n0, b0, _) = cpu_seconds(ps), stats_of(hub, name)
        t0 = time.monotonic()
        time.sleep(seconds)
        cpu1, (n1, b1, _) = cpu_seconds(ps), stats_of(hub, name)
        span = time.monotonic() - t0
    finally:
        stop(proc)
    frames = max(1, n1 - n0)
    return 1000 * (cpu1 - cpu0) / frames, frames / span, (b1 - b0) / span


def bench_sender_cpu(seconds: float, runs: int) -> None:
    print("\n1. sender CPU, RTSP H.264 camera 1280x720 30 fps 1.35 Mb/s (GStreamer)")
    results: dict[str, list[tuple[float, float, float]]] = {"auto": [], "jpeg": []}
    with (
        Hub("tcp://127.0.0.1:0") as hub,
        RTSPServer(size="1280x720", fps=30, pattern="smpte", bitrate=1350) as camera,
    ):
        for run in range(runs):
            for codec in ("auto", "jpeg"):
                results[codec].append(sender_run(hub, camera.url, f"{codec}{run}", codec, seconds))
    rows = {c: [statistics.median(x[i] for x in r) for i in range(3)] for c, r in results.items()}
    for codec, label in (("auto", "pass-through (--codec auto)"), ("jpeg", "decode + JPEG q85")):
        cpu, fps, bps = rows[codec]
        print(f"   {label:<30} {cpu:6.2f} ms CPU/frame sent  {cpu * fps / 10:5.1f}% of a core  "
              f"{fps:5.1f} fps at the hub  {bps / 1e3:8.1f} kB/s")  # fmt: skip
    ratio = rows["jpeg"][0] / max(rows["auto"][0], 1e-9)
    print(f"   pass-through uses {ratio:.1f}x less sender CPU; "
          f"{rows['jpeg'][2] / max(rows['auto'][2], 1):.1f}x fewer bytes on the wire")  # fmt: skip


# -- 2. RTSP reader latency ----------------------------------------------------------------


def ffmpeg_reader_ages(url: str, seconds: float) -> list[float]:
    """camhub's RTSP reader before: FFmpeg demux + decode, tuned for low delay."""
    import av

    from camhub.sources.rtsp import LOW_DELAY_OPTIONS

    ages: list[float] = []
    container = av.open(url, options=dict(LOW_DELAY_OPTIONS), timeout=(5, 5))
    try:
        stream = container.streams.video[0]
        stream.codec_context.flags |= av.codec.context.Flags.low_delay
        deadline = time.monotonic() + seconds
        for packet in container.demux(stream):
            for frame in packet.decode():
                now = time.time()
                ages.append(now - read_barcode(frame.to_ndarray(format="bgr24")))
            if time.monotonic() > deadline:
                break
    finally:
        container.close()
    return ages[15:]


def camhub_reader_ages(url: str, seconds: float) -> list[float]:
    source = open_source(url, "reader")
    ages: list[float] = []
    try:
        source.read(timeout=20)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            frame = source.read(timeout=5)
            ages.append(time.time() - read_barcode(frame.image))
    finally:
        source.stop()
    return ages[15:]


def bench_reader(seconds: float) -> None:
    print("\n2. RTSP reader latency, capture -> decoded picture in the reader's hands (15 fps)")
    with RTSPServer(size="640x480", fps=15, stamp=True) as camera:
        old = ffmpeg_reader_ages(camera.url, seconds)
        new = camhub_reader_ages(camera.url, seconds)
    for label, ages in (("FFmpeg RTSP demuxer (before)", old), ("camhub RTSP client", new)):
        print(f"   {label:<30} p50 {statistics.median(ages) * 1e3:6.1f} ms  "
              f"p95 {pct(ages, 0.95) * 1e3:6.1f} ms  n={len(ages)}")  # fmt: skip


# -- 3. frame age capture -> hub ------------------------------------------------------------


def collect(hub: Hub, name: str, seconds: float, want: str) -> list[Frame]:
    wait_for(lambda: stats_of(hub, name)[2] == want, 120, f"{name} to send {want}")
    subscription = hub.subscribe([name], maxsize=4096)
    frames: list[Frame] = []
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            frame = subscription.get(0.5)
            if frame is not None:
                frames.append(frame)
    finally:
        subscription.close()
    return frames


def bench_age(seconds: float) -> None:
    print("\n3. frame age, capture -> hub (loopback)")
    with Hub("tcp://127.0.0.1:0") as hub:
        with RTSPServer(size="1280x720", fps=30, stamp=True) as camera:
            proc = send_process(camera.url, "--hub", hub.endpoint, "--name", "rtsp")
            try:
                frames = collect(hub, "rtsp", seconds + 5, "h264")  # RTCP reports come in
            finally:
                stop(proc)
        decoder, true_age, reported = PictureDecoder(), [], []
        for frame in frames:
            picture = decoder.decode(frame.video) if frame.video is not None else None
            if picture is not None and frame.age is not None:
                true_age.append(frame.received_at - read_barcode(picture))
                reported.append(frame.age)
        print(f"   RTSP 720p30 passed through: true p50 {statistics.median(true_age) * 1e3:5.1f} ms "
              f"p95 {pct(true_age, 0.95) * 1e3:5.1f} ms; reported by the hub p50 "
              f"{statistics.median(reported) * 1e3:5.1f} ms (n={len(true_age)})")  # fmt: skip
        for codec in ("auto", "jpeg"):
            name = f"pattern-{codec}"
            proc = send_process("testsrc:640x480@15", "--hub", hub.endpoint, "--name", name,
                                "--codec", codec)  # fmt: skip
            try:
                frames = collect(hub, name, seconds, "h264" if codec == "auto" else "jpeg")
            finally:
                stop(proc)
            ages = [f.age for f in frames if f.age is not None]
            rate = sum(f.nbytes for f in frames) / seconds / 1e3
            label = "H.264 encoded by the sender" if codec == "auto" else "JPEG (--codec jpeg)"
            print(f"   test pattern 640x480@15, {label:<28} p50 {statistics.median(ages) * 1e3:5.1f} ms"
                  f"  p95 {pct(ages, 0.95) * 1e3:5.1f} ms  {rate:6.1f} kB/s  n={len(ages)}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--only", choices=["cpu", "reader", "age"])
    args = parser.parse_args()
    print(f"cpus: {len(psutil.Process().cpu_affinity() or [])}, load {psutil.getloadavg()[0]:.1f}")
    why = rtsp_missing()
    steps: dict[str, Callable[[], None]] = {
        "cpu": lambda: bench_sender_cpu(args.seconds, args.runs),
        "reader": lambda: bench_reader(args.seconds),
        "age": lambda: bench_age(args.seconds),
    }
    for key, step in steps.items():
        if args.only not in (None, key):
            continue
        if why:
            print(f"\n(skipped {key}: GStreamer's RTSP server is missing: {why})")
            continue
        step()


if __name__ == "__main__":
    main()
