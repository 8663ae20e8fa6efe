"""Hub CPU per frame at scale: many paced cameras into one hub.

Each simulated camera sends pre-encoded 640x480 frames at ``--fps``:

* ``--kind jpeg``: one JPEG (camhub's q85 4:2:0, about 25-30 KB);
* ``--kind h264``: a 2 s H.264 clip of a scene made of real photographs with a person
  walking across it (``bench.bench_video.PhotoScene``, libx264 as a camhub sender encodes,
  a keyframe every 2 s), encoded once and replayed. camhub senders send the packets as
  video frames after the capability exchange; imagezmq senders carry the same bytes with
  ``send_jpg`` (its loop never looks inside).

Cameras are spread over ``--procs`` sender processes, each of which owns one socket per
camera (a pipelined :class:`camhub.Sender`, or an imagezmq ``ImageSender`` for the
baseline), so 256 cameras need only a few processes. How their frames arrive
(``--arrivals``):

* ``independent``: every camera keeps its own clock, as separate devices do: its own
  phase (random) and its own rate (within 1% of ``--fps``, so phases drift), so frames
  reach the hub one by one;
* ``burst``: every process sends all its cameras back to back once per tick, which lets
  a hub take many frames in one wake-up (what this benchmark did before issue 17).

Two hubs are measured in the same run, interleaved per camera count:

* ``camhub hub``: the real :class:`camhub.service.HubService` with its dashboard on and
  no viewers;
* imagezmq's bare tutorial loop: ``recv_jpg`` then ``send_reply`` (no decoding).

The hub runs in its own process; its CPU seconds over the measuring window are divided
by the window (CPU% of one core) and by the frames it received (CPU us per frame).

Run: ``python -m bench.bench_scale`` (about 4 minutes: JPEG, both arrival patterns);
``--kind jpeg,h264 --cameras 64,256 --rounds 2`` for issue 17's figures; ``--quick`` for
a smoke run.
"""

from __future__ import annotations

import argparse
import glob
import heapq
import math
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import imagezmq
import psutil
import zmq

import camhub
from bench.common import (
    camhub_jpeg,
    free_port,
    machine_description,
    mp_context,
    print_table,
    ratio,
    test_frame,
)
from camhub.types import Frame
from camhub.video.packet import Codec, VideoPacket

HUBS = ("imagezmq", "camhub")
ARRIVALS = ("independent", "burst")
KINDS = ("jpeg", "h264")
StopFlag = Any  # a multiprocessing RawValue("i"); ctypes has no stubs here


@dataclass(frozen=True, slots=True)
class Result:
    hub: str
    cameras: int
    frames: int
    cpu: float
    """Hub CPU seconds over the window."""
    wall: float

    @property
    def cpu_pct(self) -> float:
        return 100.0 * self.cpu / self.wall if self.wall > 0 else float("nan")

    @property
    def us_per_frame(self) -> float:
        return 1e6 * self.cpu / self.frames if self.frames else float("nan")

    @property
    def fps(self) -> float:
        return self.frames / self.wall if self.wall > 0 else 0.0


# -- hub processes ----------------------------------------------------------------------


def _serve_imagezmq(port: int, conn: Connection) -> None:
    hub = imagezmq.ImageHub(open_port=f"tcp://127.0.0.1:{port}")
    hub.zmq_socket.setsockopt(zmq.RCVTIMEO, 200)  # so the loop can notice "exit"
    count = [0]
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                hub.recv_jpg()
            except zmq.Again:
                continue
            hub.send_reply(b"OK")
            count[0] += 1

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    _answer(conn, lambda: (count[0], []))
    stop.set()
    thread.join(timeout=5)
    hub.close()


def _serve_camhub(port: int, conn: Connection) -> None:
    from camhub.config import FleetConfig
    from camhub.service import HubService

    web_port = free_port()
    hub = {
        "bind": f"tcp://127.0.0.1:{port}",
        "web": f"127.0.0.1:{web_port}",
        "status_every": 0,
        "offline_after": 30.0,
        "keep_data": False,
    }
    service = HubService(FleetConfig.model_validate({"hub": hub})).start()
    assert service.hub is not None
    hub_ = service.hub
    receiver = hub_.receiver

    def count() -> tuple[int, list[str]]:
        # With the encodings the cameras sent last: an H.264 run must really carry video.
        return receiver.messages, sorted({str(c.encoding) for c in hub_.stats()})

    try:
        _answer(conn, count)
    finally:
        service.stop()


def _answer(conn: Connection, count: Any) -> None:
    conn.send("ready")
    while True:
        if not conn.poll(30):
            return  # orchestrator gone
        if conn.recv() == "exit":
            return
        conn.send(count())


def hub_main(kind: str, port: int, conn: Connection) -> None:
    (_serve_camhub if kind == "camhub" else _serve_imagezmq)(port, conn)


# -- frames ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Clip:
    """What every camera sends, in a loop: one JPEG, or an H.264 clip's packets."""

    kind: str
    payloads: tuple[bytes, ...]
    keyframes: tuple[bool, ...]
    probe: bytes
    """A JPEG each camhub video camera sends first: the capability exchange rides on it."""
    width: int
    height: int

    @property
    def mean_bytes(self) -> float:
        return sum(len(p) for p in self.payloads) / len(self.payloads)


def make_clip(kind: str, fps: float) -> Clip:
    jpeg = camhub_jpeg(test_frame())
    if kind == "jpeg":
        return Clip("jpeg", (jpeg,), (False,), jpeg, 640, 480)
    from bench.bench_video import PhotoScene, h264_packets

    rate = max(1, round(fps))
    scene = PhotoScene(640, 480, rate, 0.0)
    frames = [scene.frame(i) for i in range(2 * rate)]  # one group of pictures
    packets, _cpu = h264_packets(frames, rate, 23)
    if not packets or not packets[0].keyframe:
        raise RuntimeError("the H.264 clip must start with a keyframe")
    return Clip(
        "h264",
        tuple(p.data for p in packets),
        tuple(p.keyframe for p in packets),
        camhub_jpeg(frames[0]),
        640,
        480,
    )


# -- sender processes -------------------------------------------------------------------


class _CamhubCamera:
    """One camera through its own pipelined camhub Sender."""

    def __init__(self, address: str, name: str, clip: Clip) -> None:
        self.name, self.clip, self.index = name, clip, 0
        video: list[Codec] = ["h264"] if clip.kind == "h264" else []
        self.sender = camhub.Sender(address, window=4, timeout=5.0, video=video)

    def send(self) -> None:
        clip, sender = self.clip, self.sender
        if clip.kind == "h264" and sender.video_codecs is None:
            sender.send_jpeg(self.name, clip.probe)  # not known yet: a JPEG carries the offer
            return
        i = self.index
        self.index = (i + 1) % len(clip.payloads)
        if clip.kind == "jpeg":
            sender.send_jpeg(self.name, clip.payloads[i])
            return
        packet = VideoPacket("h264", clip.payloads[i], clip.keyframes[i])
        sender.send_frame(Frame(self.name, video=packet, width=clip.width, height=clip.height))

    def close(self) -> None:
        self.sender.close()


class _ImagezmqCamera:
    """One camera through its own imagezmq ImageSender (``send_jpg`` carries any bytes)."""

    def __init__(self, address: str, name: str, clip: Clip) -> None:
        self.name, self.clip, self.index = name, clip, 0
        self.sender = imagezmq.ImageSender(connect_to=address)
        # A hub that went away must not hang the process at exit.
        self.sender.zmq_socket.setsockopt(zmq.RCVTIMEO, 5000)
        self.sender.zmq_socket.setsockopt(zmq.LINGER, 0)

    def send(self) -> None:
        i = self.index
        self.index = (i + 1) % len(self.clip.payloads)
        self.sender.send_jpg(self.name, self.clip.payloads[i])

    def close(self) -> None:
        self.sender.close()


def sender_main(
    kind: str,
    port: int,
    cameras: Sequence[int],
    fps: float,
    clip: Clip,
    arrivals: str,
    stop: StopFlag,
) -> None:
    """One socket per camera. A frame that is late is skipped rather than bunched up, as
    a real camera would skip frames."""
    address = f"tcp://127.0.0.1:{port}"
    make = _CamhubCamera if kind == "camhub" else _ImagezmqCamera
    cams: list[_CamhubCamera | _ImagezmqCamera] = [make(address, f"cam{i}", clip) for i in cameras]
    try:
        if arrivals == "burst":
            _burst(cams, fps, stop)
        else:
            _independent(cams, fps, stop, seed=cameras[0])
    except zmq.Again:
        return  # the hub went away
    finally:
        for cam in cams:
            cam.close()


def _burst(cams: Sequence[_CamhubCamera | _ImagezmqCamera], fps: float, stop: StopFlag) -> None:
    period = 1.0 / fps
    next_tick = time.perf_counter()
    while not stop.value:
        for cam in cams:
            cam.send()
        next_tick += period
        delay = next_tick - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        else:
            next_tick = time.perf_counter()  # behind: skip, do not burst


def _independent(
    cams: Sequence[_CamhubCamera | _ImagezmqCamera], fps: float, stop: StopFlag, seed: int
) -> None:
    """Each camera on its own clock: a random phase and a rate within 1% of ``fps``. One
    thread serves them all from a heap of due times (a thread per camera would spend the
    senders' CPU, which shares the machine with the hub, on waking up)."""
    rng = random.Random(seed)
    start = time.perf_counter()
    periods = [1.0 / (fps * rng.uniform(0.99, 1.01)) for _ in cams]
    due = [(start + rng.uniform(0, p), i) for i, p in enumerate(periods)]
    heapq.heapify(due)
    while not stop.value:
        when, i = due[0]
        delay = when - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        cams[i].send()
        period = periods[i]
        when += period
        now = time.perf_counter()
        if when < now:  # behind: skip the frames missed, keep the camera's phase
            when += period * math.ceil((now - when) / period)
        heapq.heapreplace(due, (when, i))


# -- orchestration ----------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """CPU time of every thread of ``pid`` in nanosecond resolution (Linux schedstat);
    psutil's clock-tick figures are too coarse for a few percent over a few seconds."""
    total = 0
    for path in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(path) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # a thread that ended meanwhile
    if total:
        return total / 1e9
    times = psutil.Process(pid).cpu_times()  # not Linux: clock ticks will do
    return float(times.user + times.system)


def measure(kind: str, cameras: int, s: Settings, clip: Clip, arrivals: str) -> Result:
    ctx = mp_context()
    port = free_port()
    here, there = ctx.Pipe()
    hub = ctx.Process(target=hub_main, args=(kind, port, there), daemon=True)
    hub.start()
    if not here.poll(60) or here.recv() != "ready":
        hub.kill()
        raise RuntimeError(f"{kind} hub did not start")
    stop = ctx.RawValue("i", 0)
    procs = min(s.procs, cameras)
    groups = [list(range(cameras))[p::procs] for p in range(procs)]
    senders = [
        ctx.Process(
            target=sender_main, args=(kind, port, g, s.fps, clip, arrivals, stop), daemon=True
        )
        for g in groups
    ]
    for proc in senders:
        proc.start()
    try:
        time.sleep(s.warmup)
        assert hub.pid is not None
        here.send("count")
        before, cpu0, t0 = here.recv(), cpu_seconds(hub.pid), time.perf_counter()
        time.sleep(s.seconds)
        here.send("count")
        after, cpu1, t1 = here.recv(), cpu_seconds(hub.pid), time.perf_counter()
    finally:
        stop.value = 1
        for proc in senders:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
        here.send("exit")
        hub.join(timeout=10)
        if hub.is_alive():
            hub.kill()
    (before, _), (after, encodings) = before, after
    want = "jpeg" if clip.kind == "jpeg" else "h264"
    if kind == "camhub" and want not in encodings:
        raise RuntimeError(f"camhub hub got {encodings} from {clip.kind} cameras")
    if kind == "camhub" and encodings != [want]:
        # On a loaded machine a sender may time out and reconnect; until the hub answers
        # its offer again it sends the JPEG that carries it.
        print(f"  (some cameras' last frame was {encodings}: a reconnect re-offered video)")
    return Result(kind, cameras, after - before, cpu1 - cpu0, t1 - t0)


@dataclass(frozen=True, slots=True)
class Settings:
    cameras: tuple[int, ...]
    fps: float
    seconds: float
    warmup: float
    procs: int
    rounds: int
    arrivals: tuple[str, ...] = ARRIVALS
    kinds: tuple[str, ...] = ("jpeg",)


def _counts(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers like 16,64, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("camera counts must be 1 or more")
    return values


def _choices(known: tuple[str, ...]) -> Callable[[str], tuple[str, ...]]:
    def parse(text: str) -> tuple[str, ...]:
        values = tuple(v.strip() for v in text.split(",") if v.strip())
        bad = [v for v in values if v not in known]
        if not values or bad:
            raise argparse.ArgumentTypeError(
                f"expected one or more of {','.join(known)} (comma-separated), got {text!r}"
            )
        return values

    return parse


def parse_args(argv: Sequence[str] | None) -> Settings:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_scale",
        description="Hub CPU per frame with many paced cameras: camhub hub vs imagezmq.",
    )
    parser.add_argument("--cameras", type=_counts, default=(16, 64, 256))
    parser.add_argument("--fps", type=float, default=15.0, help="frames/s per camera")
    parser.add_argument("--seconds", type=float, default=8.0, help="measuring window")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--procs", type=int, default=8, help="sender processes")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds per count")
    parser.add_argument(
        "--arrivals",
        type=_choices(ARRIVALS),
        default=ARRIVALS,
        help="independent (each camera on its own clock) and/or burst (a process's cameras "
        "back to back each tick); default both",
    )
    parser.add_argument(
        "--kind", type=_choices(KINDS), default=("jpeg",), help="jpeg and/or h264 frames"
    )
    parser.add_argument("--quick", action="store_true", help="tiny smoke run (4 cameras, 1 s)")
    args = parser.parse_args(argv)
    if args.fps <= 0 or args.seconds <= 0 or args.warmup < 0 or args.procs < 1:
        parser.error("--fps, --seconds and --procs must be positive")
    if args.rounds < 1:
        parser.error("--rounds must be 1 or more")
    if args.quick:
        return Settings((4,), args.fps, 1.0, 0.5, 2, 1, args.arrivals, args.kind)
    return Settings(
        args.cameras,
        args.fps,
        args.seconds,
        args.warmup,
        args.procs,
        args.rounds,
        args.arrivals,
        args.kind,
    )


def _sum(a: Result, b: Result) -> Result:
    return Result(a.hub, a.cameras, a.frames + b.frames, a.cpu + b.cpu, a.wall + b.wall)


def _range(values: Sequence[float]) -> str:
    if len(values) < 2:
        return ""
    return f"{min(values):.2f}-{max(values):.2f}x"


def main(argv: Sequence[str] | None = None) -> int:
    s = parse_args(argv)
    print(f"Machine: {machine_description()}")
    clips = {kind: make_clip(kind, s.fps) for kind in s.kinds}
    described = "; ".join(
        f"{k}: 640x480, {c.mean_bytes / 1000:.1f} KB a frame on average"
        + (" (q85 4:2:0)" if k == "jpeg" else f" ({len(c.payloads)}-frame clip, crf 23)")
        for k, c in clips.items()
    )
    print(
        f"Frames: {described}; {s.fps:g} fps per camera; {s.procs} sender processes; "
        f"{s.seconds:g} s windows after {s.warmup:g} s warm-up; {s.rounds} interleaved "
        "round(s), the sums over rounds are shown with the range of the per-round ratios"
    )
    rows = []
    for kind in s.kinds:
        for arrivals in s.arrivals:
            for cameras in s.cameras:
                totals = {k: Result(k, cameras, 0, 0.0, 0.0) for k in HUBS}
                ratios: list[float] = []
                for n in range(s.rounds):
                    # Alternate which hub goes first, so a slow stretch of the machine
                    # does not always land on the same one.
                    order = HUBS if n % 2 == 0 else HUBS[::-1]
                    got = {k: measure(k, cameras, s, clips[kind], arrivals) for k in order}
                    for k, r in got.items():
                        totals[k] = _sum(totals[k], r)
                    base = got["imagezmq"].us_per_frame
                    if base == base and base > 0:
                        ratios.append(got["camhub"].us_per_frame / base)
                iz, ch = totals["imagezmq"], totals["camhub"]
                for r in (iz, ch):
                    rows.append(
                        [
                            kind,
                            arrivals,
                            cameras,
                            "camhub hub (dashboard on)"
                            if r.hub == "camhub"
                            else "imagezmq recv_jpg loop",
                            round(r.fps),
                            cameras * s.fps,
                            f"{r.cpu_pct:.1f}",
                            f"{r.us_per_frame:.1f}",
                            ratio(r.us_per_frame, iz.us_per_frame),
                            _range(ratios) if r.hub == "camhub" else "",
                        ]
                    )
                print(
                    f"{kind} {arrivals} {cameras} cameras: imagezmq {iz.us_per_frame:.1f} us/frame"
                    f" ({iz.fps:.0f} fps), camhub {ch.us_per_frame:.1f} us/frame ({ch.fps:.0f}"
                    f" fps): {ratio(ch.us_per_frame, iz.us_per_frame)} ({_range(ratios)})",
                    flush=True,
                )
    print_table(
        "Hub CPU per frame (lower is better)",
        [
            "frames",
            "arrivals",
            "cameras",
            "hub",
            "frames/s",
            "offered",
            "CPU % of a core",
            "CPU us/frame",
            "vs imagezmq",
            "per-round ratios",
        ],
        rows,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
