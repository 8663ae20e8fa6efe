"""The drop-in path as a new user meets it: lock-step ``ImageSender`` -> ``ImageHub``, one
sender, 640x480, camhub's pair against imagezmq 1.2.0's pair in the same run.

Every round runs each (implementation, payload) pair once, for ``--seconds``, in a fresh
hub process pinned to core 0 and a fresh sender process pinned to core 1; the order of
the two implementations alternates from round to round. Medians over the rounds.
Payloads: pre-encoded JPEG (``send_jpg``/``recv_jpg``) at the tutorial's q95 4:4:4
(about 90 KB) and at camhub's q85 4:2:0 (about 30 KB), and raw BGR arrays
(``send_image``/``recv_image``).

    python -m bench.bench_compat [--seconds 3] [--rounds 5]

Target (issue 8): camhub >= 1.0x imagezmq for JPEG and raw.
"""

from __future__ import annotations

import argparse
import os
import time
from multiprocessing.connection import Connection
from typing import Any

from bench.common import (
    camhub_jpeg,
    free_port,
    machine_description,
    median,
    mp_context,
    print_table,
    test_frame,
    tutorial_jpeg,
)

IMPLS = ("imagezmq", "camhub")
PAYLOADS = ("jpeg-q95", "jpeg-q85", "raw")


def _pin(core: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {core % (os.cpu_count() or 1)})


def _module(impl: str) -> Any:
    if impl == "imagezmq":
        import imagezmq

        return imagezmq
    import camhub

    return camhub


def hub_main(impl: str, payload: str, port: int, conn: Connection) -> None:
    _pin(0)
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
    hub.zmq_socket.close(linger=0)


def sender_main(impl: str, payload: str, port: int, seconds: float, conn: Connection) -> None:
    _pin(1)
    image = test_frame()
    data: Any = {"jpeg-q95": tutorial_jpeg, "jpeg-q85": camhub_jpeg}.get(payload, lambda i: i)(
        image
    )
    sender = _module(impl).ImageSender(f"tcp://127.0.0.1:{port}")
    send = sender.send_image if payload == "raw" else sender.send_jpg
    for _ in range(200):  # warm-up: connection, caches, branch predictors
        send("cam", data)
    count = 0
    t0, cpu0 = time.perf_counter(), time.process_time()
    end = t0 + seconds
    while True:
        for _ in range(50):  # check the clock every 50 frames, not every frame
            send("cam", data)
        count += 50
        if time.perf_counter() >= end:
            break
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    send("stop", data)
    conn.send((count / elapsed, cpu / count * 1e6, len(data) if payload != "raw" else 0))
    sender.zmq_socket.close(linger=0)


def run_pair(impl: str, payload: str, seconds: float) -> tuple[float, float, float, int]:
    """frames/s, sender CPU us/frame, hub CPU us/frame, payload bytes."""
    ctx = mp_context()
    port = free_port()
    hub_rx, hub_tx = ctx.Pipe(duplex=False)
    snd_rx, snd_tx = ctx.Pipe(duplex=False)
    hub = ctx.Process(target=hub_main, args=(impl, payload, port, hub_tx))
    hub.start()
    if not hub_rx.poll(30):
        hub.kill()
        raise RuntimeError(f"{impl} hub did not start")
    hub_rx.recv()
    sender = ctx.Process(target=sender_main, args=(impl, payload, port, seconds, snd_tx))
    sender.start()
    try:
        if not snd_rx.poll(seconds + 60) or not hub_rx.poll(30):
            raise RuntimeError(f"{impl} {payload} run did not finish")
        fps, sender_us, size = snd_rx.recv()
        hub_frames, hub_cpu = hub_rx.recv()
    finally:
        for proc in (sender, hub):
            proc.join(5)
            if proc.is_alive():
                proc.kill()
    return fps, sender_us, hub_cpu / max(1, hub_frames) * 1e6, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--payloads", default=",".join(PAYLOADS))
    args = parser.parse_args()
    payloads = args.payloads.split(",")
    print(machine_description())
    results: dict[tuple[str, str], list[tuple[float, float, float, int]]] = {}
    for r in range(args.rounds):
        for payload in payloads:
            for impl in IMPLS if r % 2 == 0 else IMPLS[::-1]:
                results.setdefault((impl, payload), []).append(
                    run_pair(impl, payload, args.seconds)
                )
        print(f"round {r + 1}/{args.rounds} done", flush=True)
    rows = []
    for payload in payloads:
        med = {
            impl: [median([run[i] for run in results[(impl, payload)]]) for i in range(3)]
            for impl in IMPLS
        }
        ratios = [
            a[0] / b[0]
            for a, b in zip(
                results[("camhub", payload)], results[("imagezmq", payload)], strict=True
            )
        ]
        size = results[("camhub", payload)][0][3]
        rows.append(
            [
                payload + (f" ({size / 1000:.0f} KB)" if size else " (921.6 KB)"),
                med["imagezmq"][0],
                med["camhub"][0],
                f"{med['camhub'][0] / med['imagezmq'][0]:.2f}x",
                f"{min(ratios):.2f}-{max(ratios):.2f}x",
                f"{med['imagezmq'][1]:.0f} / {med['camhub'][1]:.0f}",
                f"{med['imagezmq'][2]:.0f} / {med['camhub'][2]:.0f}",
            ]
        )
    print_table(
        f"Lock-step ImageSender -> ImageHub, 1 sender, 640x480, {args.seconds:g} s x "
        f"{args.rounds} interleaved rounds (medians)",
        [
            "payload",
            "imagezmq fps",
            "camhub fps",
            "ratio",
            "per-round ratios",
            "sender CPU us/frame (izmq / camhub)",
            "hub CPU us/frame (izmq / camhub)",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
