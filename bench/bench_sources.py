"""Benchmarks for camera sources and `camhub send`, against real camera servers.

    python bench/bench_sources.py [--seconds 8] [--no-rtsp]

1. Sender CPU per frame for a 720p 30 fps MJPEG camera: JPEG pass-through (the default)
   against decode + re-encode of the same stream (``--reencode``). CPU is the whole
   ``camhub send`` process (all threads), measured with psutil.
2. Frame age from camera server to hub, for MJPEG (the server writes its send time into
   a JPEG comment) and RTSP (the server draws its send time into the picture as a
   barcode), plus MJPEG into a hub slowed to 150 ms per frame: the age must stay flat.
3. The imagezmq tutorial's ``send_image(name, stream.read())`` loop with imutils'
   VideoStream against camhub's: sends per second, and how many of them were new frames.
4. How many 720p 30 fps RTSP cameras one core can ingest: an estimate, computed from the
   measured CPU per decoded frame of one live stream (one core / (CPU per frame x 30)).

Run from the repository root (it uses the camera servers in tests/servers/).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import zmq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from camhub.hub import Hub  # noqa: E402
from camhub.sources import open_source  # noqa: E402
from tests.servers.media import FFMPEG  # noqa: E402
from tests.servers.py_mjpeg import PyMJPEGServer, read_stamp  # noqa: E402
from tests.servers.rtsp import RTSPServer, rtsp_missing  # noqa: E402
from tests.servers.stamp import read_barcode  # noqa: E402

FPS = 30


def camera_jpegs(count: int = 60, size: str = "1280x720") -> list[bytes]:
    """JPEGs that look like a phone's: a moving pattern with sensor-like noise."""
    raw = subprocess.run(
        [FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "lavfi", "-i",
         f"testsrc2=size={size}:rate={FPS},noise=alls=12:allf=t", "-frames:v", str(count),
         "-c:v", "mjpeg", "-q:v", "4", "-f", "mjpeg", "-"],
        check=True, capture_output=True, timeout=120,
    ).stdout  # fmt: skip
    from tests.servers.media import split_jpegs

    return split_jpegs(raw)


def send_process(*args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "camhub", "-q", "send", *args],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def cpu_seconds(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return float(t.user + t.system)


def count_at(hub: Hub, name: str) -> int:
    for stats in hub.stats():
        if stats.name == name:
            return stats.frames
    return 0


# -- 1. sender CPU: pass-through vs re-encode ---------------------------------------------


def sender_cpu(hub: Hub, url: str, name: str, seconds: float, *extra: str) -> tuple[float, int]:
    """CPU ms per frame of a `camhub send` process, and frames counted at the hub."""
    proc = send_process(url, "--hub", hub.endpoint, "--name", name, *extra)
    try:
        if hub.wait_newer(name, 10, timeout=20) is None:
            raise RuntimeError(f"{name}: no frames reached the hub")
        ps = psutil.Process(proc.pid)
        cpu0, n0 = cpu_seconds(ps), count_at(hub, name)
        time.sleep(seconds)
        cpu1, n1 = cpu_seconds(ps), count_at(hub, name)
    finally:
        stop(proc)
    frames = n1 - n0
    return 1000 * (cpu1 - cpu0) / max(1, frames), frames


# -- 2. frame age ------------------------------------------------------------------------


@dataclass
class Ages:
    values: list[float]

    def line(self) -> str:
        v = sorted(self.values)
        p95 = v[int(0.95 * (len(v) - 1))] * 1000
        # Mean age per sixth of the run: flat means no backlog builds up anywhere.
        step = max(1, len(self.values) // 6)
        trend = " ".join(
            f"{statistics.mean(self.values[i : i + step]) * 1000:.0f}"
            for i in range(0, step * 6, step)
            if self.values[i : i + step]
        )
        return (
            f"n={len(v):4d}  median {statistics.median(v) * 1000:6.1f} ms  p95 {p95:6.1f} ms  "
            f"max {v[-1] * 1000:6.1f} ms  mean per sixth of the run: {trend} ms"
        )


def ages_at_hub(hub: Hub, name: str, seconds: float, read: Callable[..., float | None]) -> Ages:
    """Age (hub arrival - camera server send time) of the frames the hub received."""
    ages: list[float] = []
    got = hub.wait_newer(name, 0, timeout=20)
    if got is None:
        raise RuntimeError(f"{name}: no frames reached the hub")
    count = got[1]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = hub.wait_newer(name, count, timeout=5)
        if got is None:
            raise RuntimeError(f"{name}: frames stopped")
        frame, count = got
        sent = read(frame)
        if sent is not None:
            ages.append(frame.received_at - sent)
    return Ages(ages)


def slow_hub_ages(url: str, seconds: float, delay: float = 0.15) -> Ages:
    """A hub (raw ROUTER) that needs ``delay`` s per frame: ages at its arrival."""
    ctx = zmq.Context.instance()
    router = ctx.socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    ages: list[float] = []
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            if not router.poll(100):
                continue
            parts = router.recv_multipart()
            sent = read_stamp(parts[-1])
            if sent is not None:
                ages.append(time.time() - sent)
            time.sleep(delay)
            router.send_multipart([parts[0], b"", b"OK"])

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    proc = send_process(url, "--hub", f"tcp://127.0.0.1:{port}", "--name", "slowhub")
    try:
        time.sleep(seconds + 2)
    finally:
        stop(proc)
        done.set()
        thread.join(5)
        router.close()
    return Ages(ages[5:])


# -- 3. RTSP ingest capacity ---------------------------------------------------------------


def ingest_child(url: str, seconds: float) -> None:
    """(Runs in a child process.) Read and decode an RTSP stream; print CPU ms/frame."""
    source = open_source(url, "ingest", read_timeout=10)
    source.read(timeout=20)
    me = psutil.Process()
    cpu0, n = cpu_seconds(me), 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        source.read(timeout=10)
        n += 1
    cpu = cpu_seconds(me) - cpu0
    source.stop()
    print(f"{1000 * cpu / max(1, n):.3f} {n}")


def ingest_cost(url: str, seconds: float) -> tuple[float, int]:
    out = subprocess.run(
        [sys.executable, __file__, "--ingest-child", url, "--seconds", str(seconds)],
        check=True, capture_output=True, text=True, timeout=seconds + 60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ).stdout.split()  # fmt: skip
    return float(out[0]), int(out[1])


# -- 4. the tutorial loop: imutils VideoStream vs camhub VideoStream ------------------------


def tutorial_loop(hub: Hub, stream: Any, name: str, seconds: float) -> tuple[float, float]:
    """``while True: sender.send_image(name, stream.read())``: sends/s and distinct frames/s."""
    from camhub.compat import ImageSender

    sender = ImageSender(connect_to=hub.endpoint)
    sends, distinct, last = 0, 0, b""
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            image = stream.read()
            sender.send_image(name, image)
            sends += 1
            digest = hashlib.blake2b(image.data, digest_size=8).digest()
            distinct += digest != last
            last = digest
    finally:
        sender.close()
        stream.stop()
    return sends / seconds, distinct / seconds


# -- main --------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="per measurement (8)")
    parser.add_argument(
        "--age-seconds", type=float, help="per frame-age run (default: --seconds; try 60)"
    )
    parser.add_argument("--no-rtsp", action="store_true", help="skip the RTSP parts")
    parser.add_argument("--ingest-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ingest_child:
        ingest_child(args.ingest_child, args.seconds)
        return 0
    secs = args.seconds
    age_secs = args.age_seconds or secs
    logging.getLogger("camhub").setLevel(logging.ERROR)  # the hub's "camera offline" notes
    rtsp_why = "skipped (--no-rtsp)" if args.no_rtsp else rtsp_missing()
    print(f"camhub source benchmarks: {os.cpu_count()} CPUs, {secs:g} s per measurement, "
          f"{age_secs:g} s per frame-age run")  # fmt: skip
    jpegs = camera_jpegs()
    mean_kb = statistics.mean(len(j) for j in jpegs) / 1000
    with Hub("tcp://127.0.0.1:0") as hub, PyMJPEGServer(jpegs, fps=FPS) as camera:
        print(f"\n1. sender CPU per frame, 1280x720 MJPEG at {FPS} fps ({mean_kb:.0f} kB/frame)")
        pass_ms, pass_n = sender_cpu(hub, camera.url, "pass", secs)
        print(f"   camhub send (pass-through):      {pass_ms:6.2f} ms CPU/frame ({pass_n} frames)")
        re_ms, re_n = sender_cpu(hub, camera.url, "reencode", secs, "--reencode")
        print(f"   camhub send --reencode (q85):    {re_ms:6.2f} ms CPU/frame ({re_n} frames)")
        print(f"   pass-through uses {re_ms / pass_ms:.1f}x less sender CPU (target >= 5x)")

    print("\n2. frame age, camera server -> hub (same clock)")
    with Hub("tcp://127.0.0.1:0") as hub, PyMJPEGServer(jpegs, fps=FPS, stamp=True) as camera:
        proc = send_process(camera.url, "--hub", hub.endpoint, "--name", "mjpeg-age")
        try:
            ages = ages_at_hub(hub, "mjpeg-age", age_secs, lambda f: read_stamp(f.jpeg or b""))
        finally:
            stop(proc)
        print(f"   MJPEG 720p30:               {ages.line()}")
        slow = slow_hub_ages(camera.url, age_secs)
        print(f"   MJPEG, hub 150 ms/frame:    {slow.line()}")
    if rtsp_why:
        print(f"   RTSP: {rtsp_why}")
    else:
        with Hub("tcp://127.0.0.1:0") as hub, RTSPServer("1280x720", FPS, stamp=True) as rtsp:
            proc = send_process(rtsp.url, "--hub", hub.endpoint, "--name", "rtsp-age")
            try:
                ages = ages_at_hub(hub, "rtsp-age", age_secs, lambda f: read_barcode(f.image))
            finally:
                stop(proc)
            print(f"   RTSP 720p30 H.264:          {ages.line()}")
            print("   (RTSP age includes x264 encoding in the server, RTP, decoding and JPEG")
            print("    encoding in the sender)")

    tutorial(min(secs, 4.0))
    print("\n4. 720p RTSP ingest (read + H.264 decode to BGR) per core")
    if rtsp_why:
        print(f"   {rtsp_why}")
        return 0
    for pattern, bitrate, label in (("smpte", 0, "moving bars"), ("snow", 3000, "noise 3 Mbit/s")):
        with RTSPServer("1280x720", FPS, pattern=pattern, bitrate=bitrate) as rtsp:
            ms, n = ingest_cost(rtsp.url, secs)
        cams = 1000 / (ms * FPS)
        print(f"   {label:<15} {ms:6.2f} ms CPU/frame ({n} frames) -> about {cams:.1f} cameras "
              f"at {FPS} fps per core (estimate: 1 core / measured CPU per frame)")  # fmt: skip
    return 0


def tutorial(seconds: float) -> None:
    from imutils.video import VideoStream as ImutilsStream

    from camhub.videostream import VideoStream

    print("\n3. imagezmq tutorial loop, send_image(name, stream.read()), 640x480 MJPEG at 30 fps")
    frames = camera_jpegs(30, "640x480")
    with Hub("tcp://127.0.0.1:0") as hub, PyMJPEGServer(frames, fps=FPS) as camera:
        imutils_stream = ImutilsStream(src=camera.url).start()
        time.sleep(1.0)  # imutils has no way to wait for the first frame
        sends, distinct = tutorial_loop(hub, imutils_stream, "imutils", seconds)
        print(f"   imutils VideoStream: {sends:6.0f} sends/s, {distinct:5.1f} distinct frames/s")
        sends, distinct = tutorial_loop(hub, VideoStream(src=camera.url).start(), "camhub", seconds)
        print(f"   camhub VideoStream:  {sends:6.0f} sends/s, {distinct:5.1f} distinct frames/s")


if __name__ == "__main__":
    sys.exit(main())
