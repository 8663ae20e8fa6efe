"""Video at the sender (issue 17), side by side in one run:

    PYTHONPATH=. python -m bench.bench_video_sources [--seconds 8] [--runs 2]
                                                     [--hubs plain,detect]

1. Sender CPU for an RTSP H.264 camera (GStreamer's RTSP server, 1280x720, 30 fps,
   1.35 Mb/s): ``camhub send --codec auto`` (the camera's packets pass through) against
   ``--codec jpeg`` (decode + JPEG q85, what camhub always did). CPU of the whole send
   process per frame (psutil), bytes per second that reached the hub, runs interleaved.
   The hub is the real ``HubService`` in its own process, so its CPU over the same window
   is measured too, and sender + hub together: once as a plain hub (dashboard on, no
   viewers: nothing decodes) and once with ``--detect person`` (motion-gated, the
   built-in YOLOv3-tiny; the hub's CPU then includes its detector worker).
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
from dataclasses import dataclass
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


class HubProcess:
    """The real ``HubService`` in a process of its own (``bench.bench_video_hub``'s), so
    its CPU can be told apart from the bench's and the sender's."""

    def __init__(self, detect: bool) -> None:
        from bench.bench_video_hub import hub_main
        from bench.common import free_port, mp_context

        ctx = mp_context()
        port = free_port()
        self.endpoint = f"tcp://127.0.0.1:{port}"
        self._conn, there = ctx.Pipe()
        # Not a daemon: with detection the hub starts its worker as a child process.
        self._proc = ctx.Process(target=hub_main, args=(port, detect, there))
        self._proc.start()
        if not self._conn.poll(120) or self._conn.recv() != "ready":
            self._proc.kill()
            raise RuntimeError("hub did not start")

    def stats(self, name: str) -> tuple[int, int, str | None]:
        self._conn.send("count")
        counts = self._conn.recv()
        return counts.cameras.get(name, (0, 0, None))  # type: ignore[no-any-return]

    def cpu(self) -> float:
        from bench.bench_video_hub import tree_cpu

        assert self._proc.pid is not None
        return tree_cpu(self._proc.pid)

    def close(self) -> None:
        try:
            self._conn.send("exit")
        except OSError:
            pass
        self._proc.join(timeout=15)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(timeout=5)


@dataclass(frozen=True, slots=True)
class SendRun:
    sender_ms: float
    """Sender CPU per frame that reached the hub."""
    hub_ms: float
    fps: float
    bps: float

    @property
    def total_ms(self) -> float:
        return self.sender_ms + self.hub_ms


def sender_run(hub: HubProcess, url: str, name: str, codec: str, seconds: float) -> SendRun:
    """One ``camhub send`` process into ``hub``; CPU of both over the same window."""
    proc = send_process(url, "--hub", hub.endpoint, "--name", name, "--codec", codec)
    try:
        want = "h264" if codec == "auto" else "jpeg"
        wait_for(lambda: hub.stats(name)[2] == want, 120, f"{name} to send {want}")
        time.sleep(2.0)  # the hub's decoder (with detection) is up by now
        ps = psutil.Process(proc.pid)
        cpu0, hub0, (n0, b0, _) = cpu_seconds(ps), hub.cpu(), hub.stats(name)
        t0 = time.monotonic()
        time.sleep(seconds)
        cpu1, hub1, (n1, b1, _) = cpu_seconds(ps), hub.cpu(), hub.stats(name)
        span = time.monotonic() - t0
    finally:
        stop(proc)
    frames = max(1, n1 - n0)
    return SendRun(
        1000 * (cpu1 - cpu0) / frames,
        1000 * (hub1 - hub0) / frames,
        frames / span,
        (b1 - b0) / span,
    )


def bench_sender_cpu(seconds: float, runs: int, hubs: list[str]) -> None:
    print("\n1. sender CPU, RTSP H.264 camera 1280x720 30 fps 1.35 Mb/s (GStreamer)")
    with RTSPServer(size="1280x720", fps=30, pattern="smpte", bitrate=1350) as camera:
        for kind in hubs:
            hub = HubProcess(detect=kind == "detect")
            results: dict[str, list[SendRun]] = {"auto": [], "jpeg": []}
            try:
                for run in range(runs):
                    order = ("auto", "jpeg") if run % 2 == 0 else ("jpeg", "auto")
                    for codec in order:
                        results[codec].append(
                            sender_run(hub, camera.url, f"{codec}{run}", codec, seconds)
                        )
            finally:
                hub.close()
            _report(kind, results)


def _report(kind: str, results: dict[str, list[SendRun]]) -> None:
    what = (
        "plain hub (dashboard on, nothing decodes)"
        if kind == "plain"
        else ("hub with --detect person (motion-gated YOLOv3-tiny; hub + its worker)")
    )
    print(f"   {what}:")
    med = {
        c: SendRun(*(statistics.median(getattr(r, f) for r in rs) for f in SendRun.__slots__))
        for c, rs in results.items()
    }
    for codec, label in (("auto", "pass-through (--codec auto)"), ("jpeg", "decode + JPEG q85")):
        r = med[codec]
        print(f"     {label:<28} sender {r.sender_ms:6.2f} ms/frame ({r.sender_ms * r.fps / 10:5.1f}%)"
              f"  hub {r.hub_ms:6.2f} ms/frame ({r.hub_ms * r.fps / 10:5.1f}%)  together "
              f"{r.total_ms:6.2f} ms/frame  {r.fps:5.1f} fps  {r.bps / 1e3:8.1f} kB/s")  # fmt: skip
    a, j = results["auto"], results["jpeg"]
    sender = [x.sender_ms / y.sender_ms for x, y in zip(a, j, strict=True)]
    together = [x.total_ms / y.total_ms for x, y in zip(a, j, strict=True)]
    print(f"     pass-through uses {med['jpeg'].sender_ms / max(med['auto'].sender_ms, 1e-9):.1f}x less "
          f"sender CPU; {med['jpeg'].bps / max(med['auto'].bps, 1):.1f}x fewer bytes on the wire")  # fmt: skip
    print(f"     sender + hub, pass-through / JPEG path, per run: "
          f"{', '.join(f'{x:.2f}x' for x in together)} (sender alone: "
          f"{', '.join(f'{1 / x:.1f}x less' for x in sender)})")  # fmt: skip


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
    parser.add_argument(
        "--hubs",
        default="plain,detect",
        help="hubs for step 1: plain (nothing decodes) and/or detect (--detect person)",
    )
    args = parser.parse_args()
    print(f"cpus: {len(psutil.Process().cpu_affinity() or [])}, load {psutil.getloadavg()[0]:.1f}")
    hubs = [h for h in args.hubs.split(",") if h]
    if not hubs or any(h not in ("plain", "detect") for h in hubs):
        parser.error(f"--hubs takes plain and/or detect, got {args.hubs!r}")
    why = rtsp_missing()
    steps: dict[str, Callable[[], None]] = {
        "cpu": lambda: bench_sender_cpu(args.seconds, args.runs, hubs),
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
