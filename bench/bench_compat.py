"""The drop-in path as a new user meets it: lock-step ``ImageSender`` -> ``ImageHub``, one
sender, 640x480, camhub's pair against imagezmq 1.2.0's pair in the same run.

For each payload both pairs are started once (hub process pinned to core 0, sender
process pinned to core 1) and then take turns: ``--rounds`` rounds of one burst of
``--burst`` seconds each, the order alternating from round to round. Only one pair
sends at a time; the idle hub waits in a blocking receive and costs nothing. Many short
interleaved bursts cancel the slow drift of a shared machine far better than a few long
runs in fresh processes. The ratio is the median of the per-round ratios.
Payloads: pre-encoded JPEG (``send_jpg``/``recv_jpg``) at the tutorial's q95 4:4:4
(about 90 KB) and at camhub's q85 4:2:0 (about 30 KB), and raw BGR arrays
(``send_image``/``recv_image``).

    python -m bench.bench_compat [--burst 0.5] [--rounds 20]

Target (issue 8): camhub >= 1.0x imagezmq for JPEG and raw.
"""

from __future__ import annotations

import argparse
import time
from multiprocessing.connection import Connection
from typing import Any

from bench.common import (
    camhub_jpeg,
    free_port,
    machine_description,
    median,
    mp_context,
    pin,
    print_table,
    test_frame,
    tutorial_jpeg,
)

IMPLS = ("imagezmq", "camhub")
PAYLOADS = ("jpeg-q95", "jpeg-q85", "raw")


def _module(impl: str) -> Any:
    if impl == "imagezmq":
        import imagezmq

        return imagezmq
    import camhub

    return camhub


def hub_main(impl: str, payload: str, port: int, conn: Connection) -> None:
    """The tutorial's hub loop; reports its frames and CPU seconds on ``stop``."""
    pin(0)
    hub = _module(impl).ImageHub(f"tcp://127.0.0.1:{port}")
    recv = hub.recv_image if payload == "raw" else hub.recv_jpg
    conn.send("ready")
    count = 0
    cpu0 = time.process_time()
    while True:
        name, _data = recv()
        hub.send_reply(b"OK")
        if name == "stop":
            break
        count += 1
    conn.send((count, time.process_time() - cpu0))
    hub.zmq_socket.close(linger=1000)  # LINGER 0 could discard the reply to "stop"


def sender_main(impl: str, payload: str, port: int, conn: Connection) -> None:
    """Sends a burst of frames for each ``("burst", seconds)`` it is told; answers with
    (frames, wall seconds, CPU seconds). ``None`` ends it."""
    pin(1)
    image = test_frame()
    data: Any = {"jpeg-q95": tutorial_jpeg, "jpeg-q85": camhub_jpeg}.get(payload, lambda i: i)(
        image
    )
    sender = _module(impl).ImageSender(f"tcp://127.0.0.1:{port}")
    send = sender.send_image if payload == "raw" else sender.send_jpg
    for _ in range(300):  # warm-up: connection, caches, branch predictors
        send("cam", data)
    conn.send(len(data) if payload != "raw" else 0)
    while (order := conn.recv()) is not None:
        count = 0
        t0, cpu0 = time.perf_counter(), time.process_time()
        end = t0 + order
        while True:
            for _ in range(20):  # check the clock every 20 frames, not every frame
                send("cam", data)
            count += 20
            if time.perf_counter() >= end:
                break
        conn.send((count, time.perf_counter() - t0, time.process_time() - cpu0))
    send("stop", data)
    sender.zmq_socket.close(linger=0)


class _Pair:
    """One implementation's hub and sender processes, kept for the whole payload."""

    def __init__(self, impl: str, payload: str) -> None:
        ctx = mp_context()
        port = free_port()
        self.hub_conn, hub_tx = ctx.Pipe(duplex=False)
        self.conn, child = ctx.Pipe()
        self.hub = ctx.Process(target=hub_main, args=(impl, payload, port, hub_tx))
        self.hub.start()
        if not self.hub_conn.poll(60):
            self.hub.kill()
            raise RuntimeError(f"{impl} hub did not start")
        self.hub_conn.recv()
        self.sender = ctx.Process(target=sender_main, args=(impl, payload, port, child))
        self.sender.start()
        if not self.conn.poll(60):
            raise RuntimeError(f"{impl} sender did not start")
        self.size: int = self.conn.recv()
        self.bursts: list[tuple[int, float, float]] = []

    def burst(self, seconds: float) -> float:
        self.conn.send(seconds)
        if not self.conn.poll(seconds + 30):
            raise RuntimeError("a burst did not finish")
        count, wall, cpu = self.conn.recv()
        self.bursts.append((count, wall, cpu))
        return float(count / wall)

    def finish(self) -> tuple[float, float]:
        """Sender and hub CPU microseconds per frame over all bursts."""
        self.conn.send(None)
        frames = sum(b[0] for b in self.bursts)
        sender_us = sum(b[2] for b in self.bursts) / frames * 1e6
        hub_us = float("nan")
        if self.hub_conn.poll(30):
            hub_frames, hub_cpu = self.hub_conn.recv()
            hub_us = hub_cpu / max(1, hub_frames) * 1e6  # includes the warm-up frames
        for proc in (self.sender, self.hub):
            proc.join(5)
            if proc.is_alive():
                proc.kill()
        return sender_us, hub_us


def measure(payload: str, burst: float, rounds: int) -> list[object]:
    pairs = {impl: _Pair(impl, payload) for impl in IMPLS}
    fps: dict[str, list[float]] = {impl: [] for impl in IMPLS}
    try:
        for r in range(rounds):
            for impl in IMPLS if r % 2 == 0 else IMPLS[::-1]:
                fps[impl].append(pairs[impl].burst(burst))
    finally:
        cpu = {impl: pair.finish() for impl, pair in pairs.items()}
    ratios = sorted(c / i for c, i in zip(fps["camhub"], fps["imagezmq"], strict=True))
    size = pairs["camhub"].size
    q1, q3 = ratios[len(ratios) // 4], ratios[(3 * len(ratios)) // 4]
    return [
        payload + (f" ({size / 1000:.0f} KB)" if size else " (921.6 KB)"),
        median(fps["imagezmq"]),
        median(fps["camhub"]),
        f"{median(ratios):.2f}x",
        f"{q1:.2f}-{q3:.2f}x",
        f"{cpu['imagezmq'][0]:.0f} / {cpu['camhub'][0]:.0f}",
        f"{cpu['imagezmq'][1]:.0f} / {cpu['camhub'][1]:.0f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--burst", type=float, default=0.5, help="seconds per burst")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--payloads", default=",".join(PAYLOADS))
    args = parser.parse_args()
    print(machine_description())
    rows = []
    for payload in args.payloads.split(","):
        rows.append(measure(payload, args.burst, args.rounds))
        print(f"{payload} done", flush=True)
    print_table(
        f"Lock-step ImageSender -> ImageHub, 1 sender, 640x480, {args.rounds} interleaved "
        f"rounds of {args.burst:g} s bursts",
        [
            "payload",
            "imagezmq fps (median)",
            "camhub fps (median)",
            "ratio (median of rounds)",
            "middle half of round ratios",
            "sender CPU us/frame (izmq / camhub)",
            "hub CPU us/frame (izmq / camhub)",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
