"""The native fast path: camhub ``Sender`` -> ``Hub`` with credit acknowledgements, against
imagezmq 1.2.0's pair and bare pyzmq PUSH/PULL, in one run.

For each (payload, senders) combination every variant's hub and senders are started
once (hub process pinned to core 0, sender processes to core 1) and then take turns in
short bursts, ``--rounds`` rounds, the order rotating from round to round; only one
variant sends at a time and idle hubs wait in a blocking receive. Many short
interleaved bursts cancel the drift of a shared machine far better than a few long runs
in fresh processes. Ratios are medians of the per-round ratios.

Hub CPU is the hub process's CPU time (all threads, ZeroMQ's I/O thread included)
during the bursts, per frame received; sender CPU likewise, per frame sent.

    python -m bench.bench_fastpath [--burst 0.5] [--rounds 12] [--windows auto,4,8]

Targets (issue 8), hub and senders on separate cores: pre-encoded JPEG, 1 sender, both
640x480 frame sizes: camhub >= 2x imagezmq and >= 70% of bare PUSH/PULL; raw arrays, 1
and 8 senders: camhub >= 1.2x imagezmq.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import numpy as np
import zmq

from bench.common import (
    camhub_jpeg,
    machine_description,
    median,
    mp_context,
    pin,
    print_table,
    test_frame,
    tutorial_jpeg,
)

PAYLOADS: dict[str, Callable[[np.ndarray], Any]] = {
    "jpeg-q95": tutorial_jpeg,
    "jpeg-q85": camhub_jpeg,
    "raw": lambda image: image,
}
COMBOS = (("jpeg-q95", 1), ("jpeg-q85", 1), ("raw", 1), ("raw", 8), ("jpeg-q95", 8))


def _hub_loop(kind: str, raw: bool, ready: Callable[[str], None]) -> Callable[[], int]:
    """Starts the hub; returns a function that reads its frame count."""
    if kind == "camhub":
        import camhub

        hub = camhub.Hub(bind="tcp://127.0.0.1:0")
        hub.start()
        ready(hub.endpoint)
        return lambda: hub.messages
    count = [0]
    if kind == "imagezmq":
        import imagezmq

        izmq = imagezmq.ImageHub("tcp://127.0.0.1:0")
        endpoint = izmq.zmq_socket.getsockopt_string(zmq.LAST_ENDPOINT)
        recv = izmq.recv_image if raw else izmq.recv_jpg

        def loop() -> None:
            while True:
                recv()
                izmq.send_reply(b"OK")
                count[0] += 1

    else:  # bare PULL, as bench_transport's: receive without copying, nothing else
        sock: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.PULL)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.RCVHWM, 8)
        endpoint = f"tcp://127.0.0.1:{sock.bind_to_random_port('tcp://127.0.0.1')}"

        def loop() -> None:
            while True:
                sock.recv_multipart(copy=False)
                count[0] += 1

    threading.Thread(target=loop, daemon=True).start()
    ready(endpoint)
    return lambda: count[0]


def hub_main(kind: str, raw: bool, conn: Connection) -> None:
    """Answers each request with (frames so far, CPU seconds so far); ``None`` ends it."""
    pin(0)
    frames = _hub_loop(kind, raw, conn.send)
    while conn.recv() is not None:
        conn.send((frames(), time.process_time()))


def _sender(kind: str, endpoint: str, data: Any) -> Callable[[], object]:
    """One send, as the sender kind does it."""
    if kind == "imagezmq":
        import imagezmq

        izmq = imagezmq.ImageSender(endpoint)
        if isinstance(data, np.ndarray):
            return lambda: izmq.send_image("cam", data)
        return lambda: izmq.send_jpg("cam", data)
    if kind == "push":
        sock: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.PUSH)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.SNDHWM, 8)
        sock.connect(endpoint)
        header = b'{"msg":"cam"}'
        return lambda: sock.send_multipart([header, data], copy=False)
    import camhub

    window = kind.removeprefix("camhub-w")
    sender = camhub.Sender(endpoint, window=None if window == "auto" else int(window))
    if isinstance(data, np.ndarray):
        return lambda: sender.send_image("cam", data)
    return lambda: sender.send_jpeg("cam", data, width=640, height=480)


def sender_main(kind: str, payload: str, endpoint: str, conn: Connection) -> None:
    """Sends for ``seconds`` each time it is told; answers (frames, seconds, CPU seconds)."""
    pin(1)
    send = _sender(kind, endpoint, PAYLOADS[payload](test_frame()))
    for _ in range(300):
        send()
    conn.send("ready")
    while (seconds := conn.recv()) is not None:
        count = 0
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        end = t0 + seconds
        while True:
            for _ in range(10):
                send()
            count += 10
            if time.perf_counter() >= end:
                break
        conn.send((count, time.perf_counter() - t0, time.process_time() - cpu0))


class Variant:
    """One hub process and its senders, kept for a whole combination."""

    def __init__(self, hub: str, sender: str, payload: str, senders: int) -> None:
        ctx = mp_context()
        window = sender.removeprefix("camhub-w")
        self.label = {"imagezmq": "imagezmq", "push": "bare PUSH/PULL"}.get(
            sender,
            "camhub Sender() (window sized to the frame)"
            if window == "auto"
            else f"camhub Sender(window={window})",
        )
        self.hub_conn, child = ctx.Pipe()
        self.hub = ctx.Process(target=hub_main, args=(hub, payload == "raw", child))
        self.hub.start()
        if not self.hub_conn.poll(60):
            raise RuntimeError(f"{hub} hub did not start")
        endpoint = self.hub_conn.recv()
        self.senders = []
        for _ in range(senders):
            conn, child = ctx.Pipe()
            proc = ctx.Process(target=sender_main, args=(sender, payload, endpoint, child))
            proc.start()
            self.senders.append((proc, conn))
        for _proc, conn in self.senders:
            if not conn.poll(60):
                raise RuntimeError(f"{sender} sender did not start")
            conn.recv()
        self.fps: list[float] = []
        self.frames = 0
        self.hub_cpu = 0.0
        self.sent = 0
        self.sender_cpu = 0.0

    def burst(self, seconds: float) -> float:
        self.hub_conn.send("count")
        frames0, cpu0 = self.hub_conn.recv()
        for _proc, conn in self.senders:
            conn.send(seconds)
        sent = 0
        for _proc, conn in self.senders:
            if not conn.poll(seconds + 30):
                raise RuntimeError(f"{self.label}: a burst did not finish")
            count, wall, cpu = conn.recv()
            sent += count / wall
            self.sent += count
            self.sender_cpu += cpu
        self.hub_conn.send("count")
        frames1, cpu1 = self.hub_conn.recv()
        self.frames += frames1 - frames0
        self.hub_cpu += cpu1 - cpu0
        self.fps.append(sent)
        return sent

    def close(self) -> None:
        for proc, conn in self.senders:
            conn.send(None)
            proc.join(5)
            if proc.is_alive():
                proc.kill()
        self.hub_conn.send(None)
        self.hub.join(5)
        if self.hub.is_alive():
            self.hub.kill()


def measure(
    payload: str, senders: int, windows: list[str], burst: float, rounds: int
) -> list[Variant]:
    specs = [("imagezmq", "imagezmq"), ("pull", "push")]
    specs += [("camhub", f"camhub-w{w}") for w in windows]
    variants = [Variant(hub, sender, payload, senders) for hub, sender in specs]
    try:
        for r in range(rounds):
            shift = r % len(variants)
            for v in variants[shift:] + variants[:shift]:
                v.burst(burst)
    finally:
        for v in variants:
            v.close()
    return variants


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--burst", type=float, default=0.5, help="seconds per burst")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument(
        "--windows",
        default="auto,4",
        help="camhub Sender windows to compare; auto: the default, sized to the frame",
    )
    parser.add_argument(
        "--combos",
        default=",".join(f"{p}x{n}" for p, n in COMBOS),
        help="payload x senders, e.g. jpeg-q85x1,rawx8",
    )
    args = parser.parse_args()
    windows = args.windows.split(",")
    print(machine_description())
    rows: list[list[object]] = []
    for combo in args.combos.split(","):
        payload, _, n = combo.rpartition("x")
        variants = measure(payload, int(n), windows, args.burst, args.rounds)
        izmq, bare = variants[0], variants[1]
        for v in variants:
            vs_izmq = median([a / b for a, b in zip(v.fps, izmq.fps, strict=True)])
            vs_bare = median([a / b for a, b in zip(v.fps, bare.fps, strict=True)])
            rows.append(
                [
                    payload,
                    n,
                    v.label,
                    median(v.fps),
                    f"{vs_izmq:.2f}x",
                    f"{vs_bare:.0%}",
                    v.hub_cpu / max(1, v.frames) * 1e6,
                    v.sender_cpu / max(1, v.sent) * 1e6,
                ]
            )
        print(f"{combo} done", flush=True)
    print_table(
        f"Fast path, 640x480: {args.rounds} interleaved rounds of {args.burst:g} s bursts "
        "(medians of per-round ratios)",
        [
            "payload",
            "senders",
            "sender -> hub",
            "frames/s",
            "vs imagezmq",
            "vs bare PUSH/PULL",
            "hub CPU us/frame",
            "sender CPU us/frame",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
