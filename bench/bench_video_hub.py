"""Hub CPU with H.264 cameras and motion-gated person detection, beside JPEG (issue 17).

Eight cameras at 640x480, 15 fps, send the same scene of real photographs with a person
walking across it (``bench.bench_video.PhotoScene``: the astronaut crosses the collage in
3 s, 60 frames a loop). The scene is encoded once both ways: camhub's JPEG (q85 4:2:0)
and the H.264 a camhub sender makes (libx264 ``ultrafast``/``zerolatency``, CRF 23, a
keyframe every 2 s). Each camera runs on its own clock (``bench.bench_scale``'s
independent arrivals) through its own pipelined ``camhub.Sender``; an H.264 camera sends
its packets as video frames after the capability exchange.

The hub is the real :class:`~camhub.service.HubService` (dashboard on, no viewers) with
``--detect person`` as the CLI configures it: the built-in YOLOv3-tiny in one worker
process, 5 looks per second per camera, motion-gated. A JPEG camera's frames are decoded
only when detection looks at them; an H.264 camera's decoder runs while detection wants
its pictures, and decodes every packet (a P-frame needs the ones before it).

Hub CPU is the hub process and its detector worker over the window (Linux schedstat),
per second and per frame received. Rounds alternate JPEG and H.264, first one then the
other, so both meet the same machine.

    PYTHONPATH=. python -m bench.bench_video_hub [--seconds 20] [--rounds 2] [--quick]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import psutil

from bench.bench_scale import Clip, cpu_seconds, sender_main
from bench.common import camhub_jpeg, free_port, machine_description, mp_context, print_table

KINDS = ("jpeg", "h264")
WIDTH, HEIGHT = 640, 480


def make_clips(fps: int) -> dict[str, Clip]:
    """One loop of the walker, as JPEG frames and as H.264 packets."""
    from bench.bench_video import PhotoScene, h264_packets

    scene = PhotoScene(WIDTH, HEIGHT, fps, 0.0)
    frames = [scene.frame(i) for i in range(4 * fps)]  # the walker's whole loop
    jpegs = tuple(camhub_jpeg(f) for f in frames)
    packets, _cpu = h264_packets(frames, fps, 23)
    if len(packets) != len(frames) or not packets[0].keyframe:
        raise RuntimeError("expected one H.264 packet per frame, starting with a keyframe")
    return {
        "jpeg": Clip("jpeg", jpegs, (False,) * len(jpegs), jpegs[0], WIDTH, HEIGHT),
        "h264": Clip(
            "h264",
            tuple(p.data for p in packets),
            tuple(p.keyframe for p in packets),
            jpegs[0],
            WIDTH,
            HEIGHT,
        ),
    }


# -- the hub process ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HubCounts:
    frames: int
    inferences: int
    encodings: tuple[str, ...]
    decoding: int
    """Cameras whose video decoder runs."""
    cameras: dict[str, tuple[int, int, str | None]]
    """Per camera: frames, payload bytes, encoding."""


def hub_main(port: int, detect: bool, conn: Connection) -> None:
    from camhub.config import FleetConfig
    from camhub.service import HubService

    config: dict[str, Any] = {
        "hub": {
            "bind": f"tcp://127.0.0.1:{port}",
            "web": f"127.0.0.1:{free_port()}",
            "status_every": 0,
            "offline_after": 30.0,
            "keep_data": False,
        }
    }
    if detect:
        config["detect"] = {"labels": ["person"]}
    service = HubService(FleetConfig.model_validate(config)).start()
    assert service.hub is not None
    hub = service.hub

    def counts() -> HubCounts:
        stats = hub.stats()
        det = service.detection
        inferences = 0 if det is None else sum(c.inferences for c in det.camera_stats())
        return HubCounts(
            sum(s.frames for s in stats),
            inferences,
            tuple(sorted({str(s.encoding) for s in stats})),
            sum(1 for s in stats if s.decoding),
            {s.name: (s.frames, s.bytes, s.encoding) for s in stats},
        )

    try:
        conn.send("ready")
        while conn.poll(60):
            if conn.recv() == "exit":
                break
            conn.send(counts())
    finally:
        service.stop()


def tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its children (the detector worker)."""
    own, children = split_cpu(pid)
    return own + children


def split_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds of ``pid`` itself and of its children (the detector worker)."""
    total = 0.0
    for child in psutil.Process(pid).children(recursive=True):
        try:
            total += cpu_seconds(child.pid)
        except psutil.Error:
            continue
    return cpu_seconds(pid), total


# -- one measurement ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Result:
    kind: str
    frames: int
    inferences: int
    cpu: float
    """Hub process and detector worker."""
    wall: float
    decoding: int
    hub_cpu: float
    """The hub process alone: receive, decode, motion gate, scheduling, dashboard."""

    @property
    def worker_ms(self) -> float:
        gone = self.cpu - self.hub_cpu
        return 1000 * gone / self.inferences if self.inferences else float("nan")

    @property
    def hub_pct(self) -> float:
        return 100 * self.hub_cpu / self.wall if self.wall else float("nan")

    @property
    def cpu_pct(self) -> float:
        return 100 * self.cpu / self.wall if self.wall else float("nan")

    @property
    def ms_per_frame(self) -> float:
        return 1000 * self.cpu / self.frames if self.frames else float("nan")


@dataclass(frozen=True, slots=True)
class Settings:
    cameras: int
    fps: int
    seconds: float
    warmup: float
    rounds: int
    detect: bool


def measure(kind: str, clip: Clip, s: Settings) -> Result:
    ctx = mp_context()
    port = free_port()
    here, there = ctx.Pipe()
    # Not a daemon: the hub starts its detector worker as a child process.
    hub = ctx.Process(target=hub_main, args=(port, s.detect, there))
    hub.start()
    if not here.poll(120) or here.recv() != "ready":
        hub.kill()
        raise RuntimeError("hub did not start")
    stop = ctx.RawValue("i", 0)
    groups = [list(range(s.cameras))[p::2] for p in range(min(2, s.cameras))]
    senders = [
        ctx.Process(
            target=sender_main,
            args=("camhub", port, g, float(s.fps), clip, "independent", stop),
            daemon=True,
        )
        for g in groups
    ]
    for proc in senders:
        proc.start()
    try:
        time.sleep(s.warmup)
        assert hub.pid is not None
        here.send("count")
        a, cpu0, t0 = here.recv(), split_cpu(hub.pid), time.perf_counter()
        time.sleep(s.seconds)
        here.send("count")
        b, cpu1, t1 = here.recv(), split_cpu(hub.pid), time.perf_counter()
    finally:
        stop.value = 1
        for proc in senders:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
        here.send("exit")
        hub.join(timeout=15)
        if hub.is_alive():
            hub.kill()
    if b.encodings != (kind,):
        raise RuntimeError(f"{kind} cameras arrived as {b.encodings}")
    return Result(
        kind,
        b.frames - a.frames,
        b.inferences - a.inferences,
        sum(cpu1) - sum(cpu0),
        t1 - t0,
        b.decoding,
        cpu1[0] - cpu0[0],
    )


def _span(values: Sequence[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f}x"
    return f"{min(values):.2f}-{max(values):.2f}x"


def parse_args(argv: Sequence[str] | None) -> Settings:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_video_hub",
        description="Hub CPU, 8 cameras with motion-gated person detection: H.264 vs JPEG.",
    )
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--seconds", type=float, default=20.0, help="measuring window")
    parser.add_argument("--warmup", type=float, default=8.0, help="seconds before measuring")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds")
    parser.add_argument("--no-detect", action="store_true", help="the hub without detection")
    parser.add_argument("--quick", action="store_true", help="tiny smoke run (2 cameras, 2 s)")
    args = parser.parse_args(argv)
    if args.cameras < 1 or args.fps < 1 or args.seconds <= 0 or args.rounds < 1:
        parser.error("--cameras, --fps, --seconds and --rounds must be positive")
    if args.quick:
        return Settings(2, args.fps, 2.0, 4.0, 1, not args.no_detect)
    return Settings(
        args.cameras, args.fps, args.seconds, args.warmup, args.rounds, not args.no_detect
    )


def main(argv: Sequence[str] | None = None) -> int:
    s = parse_args(argv)
    print(f"Machine: {machine_description()}")
    clips = make_clips(s.fps)
    for kind, clip in clips.items():
        print(f"{kind}: {clip.mean_bytes / 1000:.1f} KB a frame on average")
    what = "motion-gated person detection (YOLOv3-tiny, 1 worker, 5 looks/s per camera)"
    print(
        f"{s.cameras} cameras {WIDTH}x{HEIGHT}@{s.fps}, each on its own clock; hub with "
        f"{what if s.detect else 'no detection'}; {s.seconds:g} s windows after "
        f"{s.warmup:g} s warm-up; {s.rounds} round(s), JPEG and H.264 alternating",
        flush=True,
    )
    results: dict[str, list[Result]] = {k: [] for k in KINDS}
    for n in range(s.rounds):
        for kind in KINDS if n % 2 == 0 else KINDS[::-1]:
            r = measure(kind, clips[kind], s)
            results[kind].append(r)
            print(
                f"round {n + 1} {kind}: {r.cpu_pct:.1f}% of a core ({r.hub_pct:.1f}% the hub "
                f"process), {r.ms_per_frame:.2f} ms per frame, {r.frames / r.wall:.0f} "
                f"frames/s, {r.inferences} inferences (worker {r.worker_ms:.0f} ms CPU each), "
                f"{r.decoding} decoders running",
                flush=True,
            )
    ratios = [h.cpu_pct / j.cpu_pct for j, h in zip(results["jpeg"], results["h264"], strict=True)]
    hub_ratios = [
        h.hub_pct / j.hub_pct for j, h in zip(results["jpeg"], results["h264"], strict=True)
    ]
    # The worker's share follows how many looks it ran, which on a loaded machine is
    # bounded by the CPU the worker gets more than by the encoding: also compare at the
    # JPEG round's looks (the H.264 hub process, plus its worker's CPU per look times the
    # JPEG round's looks).
    same_looks = [
        (h.hub_pct + h.worker_ms / 10 * j.inferences / j.wall) / j.cpu_pct
        for j, h in zip(results["jpeg"], results["h264"], strict=True)
        if h.inferences and j.cpu > 0
    ]
    rows = []
    for kind in KINDS:
        rs = results[kind]
        cpu, wall = sum(r.cpu for r in rs), sum(r.wall for r in rs)
        hub_cpu = sum(r.hub_cpu for r in rs)
        frames, inferences = sum(r.frames for r in rs), sum(r.inferences for r in rs)
        rows.append(
            [
                "H.264 (decoded on demand)" if kind == "h264" else "JPEG",
                round(frames / wall),
                round(inferences / wall, 1),
                f"{100 * cpu / wall:.1f}",
                ", ".join(f"{r.cpu_pct:.1f}" for r in rs),
                "1.00x" if kind == "jpeg" else _span(ratios),
                f"{100 * hub_cpu / wall:.1f}",
                ", ".join(f"{r.hub_pct:.1f}" for r in rs),
                "1.00x" if kind == "jpeg" else _span(hub_ratios),
            ]
        )
    if same_looks:
        print(f"H.264 vs JPEG at the JPEG rounds' looks (hub + worker): {_span(same_looks)}")
    print_table(
        f"Hub CPU, {s.cameras} cameras {WIDTH}x{HEIGHT}@{s.fps} (sums over rounds; ratios "
        "per round)",
        [
            "cameras send",
            "frames/s",
            "inferences/s",
            "hub + worker, CPU % of a core",
            "per round",
            "vs JPEG",
            "hub process alone, CPU %",
            "per round",
            "vs JPEG",
        ],
        rows,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
