"""Hub CPU per frame at scale: many paced cameras into one hub.

Each simulated camera sends a pre-encoded 640x480 JPEG (camhub's q85 4:2:0, about
25-30 KB) at ``--fps``. Cameras are spread over ``--procs`` sender processes, each of
which owns one socket per camera (a pipelined :class:`camhub.Sender`, or an imagezmq
``ImageSender`` for the baseline), so 256 cameras need only a few processes.

Two hubs are measured in the same run, interleaved per camera count:

* ``camhub hub``: the real :class:`camhub.service.HubService` with its dashboard on and
  no viewers;
* imagezmq's bare tutorial loop: ``recv_jpg`` then ``send_reply`` (no decoding).

The hub runs in its own process; its CPU seconds over the measuring window are divided
by the window (CPU% of one core) and by the frames it received (CPU us per frame).

Run: ``python -m bench.bench_scale`` (about 2 minutes); ``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import functools
import glob
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

HUBS = ("imagezmq", "camhub")
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
    _answer(conn, lambda: count[0])
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
    receiver = service.hub.receiver
    try:
        _answer(conn, lambda: receiver.messages)
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


# -- sender processes -------------------------------------------------------------------


def _send_camhub(sender: camhub.Sender, jpeg: bytes, name: str) -> object:
    return sender.send_jpeg(name, jpeg)


def _send_imagezmq(sender: Any, jpeg: bytes, name: str) -> object:
    return sender.send_jpg(name, jpeg)


def sender_main(
    kind: str, port: int, cameras: Sequence[int], fps: float, jpeg: bytes, stop: StopFlag
) -> None:
    """One socket per camera; every tick sends one frame per camera. A tick that is late
    is skipped rather than bunched up, as a real camera would skip frames."""
    address = f"tcp://127.0.0.1:{port}"
    names = [f"cam{i}" for i in cameras]
    send: list[Callable[[str], object]] = []
    closers: list[Callable[[], None]] = []
    if kind == "camhub":
        for _ in names:
            sender = camhub.Sender(address, window=4, timeout=5.0)
            send.append(functools.partial(_send_camhub, sender, jpeg))
            closers.append(sender.close)
    else:
        for _ in names:
            iz = imagezmq.ImageSender(connect_to=address)
            # A hub that went away must not hang the process at exit.
            iz.zmq_socket.setsockopt(zmq.RCVTIMEO, 5000)
            iz.zmq_socket.setsockopt(zmq.LINGER, 0)
            send.append(functools.partial(_send_imagezmq, iz, jpeg))
            closers.append(iz.close)
    period = 1.0 / fps
    next_tick = time.perf_counter()
    try:
        while not stop.value:
            for name, fn in zip(names, send, strict=True):
                try:
                    fn(name)
                except zmq.Again:
                    return
            next_tick += period
            delay = next_tick - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            else:
                next_tick = time.perf_counter()  # behind: skip, do not burst
    finally:
        for close in closers:
            close()


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


def measure(kind: str, cameras: int, s: Settings, jpeg: bytes) -> Result:
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
        ctx.Process(target=sender_main, args=(kind, port, g, s.fps, jpeg, stop), daemon=True)
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
    return Result(kind, cameras, after - before, cpu1 - cpu0, t1 - t0)


@dataclass(frozen=True, slots=True)
class Settings:
    cameras: tuple[int, ...]
    fps: float
    seconds: float
    warmup: float
    procs: int
    rounds: int


def _counts(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers like 16,64, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("camera counts must be 1 or more")
    return values


def parse_args(argv: Sequence[str] | None) -> Settings:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_scale",
        description="Hub CPU per frame with many paced cameras: camhub hub vs imagezmq.",
    )
    parser.add_argument("--cameras", type=_counts, default=(16, 64, 256))
    parser.add_argument("--fps", type=float, default=15.0, help="frames/s per camera")
    parser.add_argument("--seconds", type=float, default=8.0, help="measuring window")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--procs", type=int, default=4, help="sender processes")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds per count")
    parser.add_argument("--quick", action="store_true", help="tiny smoke run (4 cameras, 1 s)")
    args = parser.parse_args(argv)
    if args.fps <= 0 or args.seconds <= 0 or args.warmup < 0 or args.procs < 1:
        parser.error("--fps, --seconds and --procs must be positive")
    if args.rounds < 1:
        parser.error("--rounds must be 1 or more")
    if args.quick:
        return Settings((4,), args.fps, 1.0, 0.5, 2, 1)
    return Settings(args.cameras, args.fps, args.seconds, args.warmup, args.procs, args.rounds)


def main(argv: Sequence[str] | None = None) -> int:
    s = parse_args(argv)
    jpeg = camhub_jpeg(test_frame())
    print(f"Machine: {machine_description()}")
    print(
        f"Frame: 640x480 JPEG, {len(jpeg) / 1000:.1f} KB (q85 4:2:0); {s.fps:g} fps per camera;"
        f" {s.procs} sender processes; {s.seconds:g} s windows after {s.warmup:g} s warm-up;"
        f" {s.rounds} interleaved round(s), the sums over rounds are shown"
    )
    rows = []
    for cameras in s.cameras:
        totals = {k: Result(k, cameras, 0, 0.0, 0.0) for k in HUBS}
        for _ in range(s.rounds):
            for kind in HUBS:
                r = measure(kind, cameras, s, jpeg)
                t = totals[kind]
                totals[kind] = Result(
                    kind, cameras, t.frames + r.frames, t.cpu + r.cpu, t.wall + r.wall
                )
        iz, ch = totals["imagezmq"], totals["camhub"]
        for r in (iz, ch):
            rows.append(
                [
                    cameras,
                    "camhub hub (dashboard on)" if r.hub == "camhub" else "imagezmq recv_jpg loop",
                    round(r.fps),
                    cameras * s.fps,
                    f"{r.cpu_pct:.1f}",
                    f"{r.us_per_frame:.1f}",
                    ratio(r.us_per_frame, iz.us_per_frame),
                ]
            )
    print_table(
        "Hub CPU per frame (lower is better)",
        ["cameras", "hub", "frames/s", "offered", "CPU % of a core", "CPU us/frame", "vs imagezmq"],
        rows,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
