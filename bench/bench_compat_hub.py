"""The drop-in hub's own cost per frame: ``recv_jpg`` + ``send_reply`` on frames already
queued, camhub's ``ImageHub`` against imagezmq 1.2.0's in the same run.

A DEALER on ``inproc://`` queues ``--frames`` small frames (a REQ sender's envelope, an
imagezmq header, 100 payload bytes), then the hub's loop takes them all; the figure is
that thread's CPU time per frame, the best of ``--repeats`` (the least disturbed by
other work on the machine). Nothing else runs in that time, so this isolates what the
hub's Python costs per frame, which the lock-step benchmark (``bench_compat``) only
shows inside a round trip ten to fifty times longer.

    python -m bench.bench_compat_hub [--frames 20000] [--repeats 9]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import imagezmq
import zmq

import camhub
from bench.common import machine_description, print_table

HEADER = b'{"msg": "cam"}'
PAYLOAD = b"\xff\xd8" + bytes(98)


def _fill(ctx: zmq.Context[Any], endpoint: str, frames: int) -> zmq.Socket[Any]:
    dealer = ctx.socket(zmq.DEALER)
    dealer.setsockopt(zmq.SNDHWM, 0)
    dealer.setsockopt(zmq.RCVHWM, 0)  # the replies wait here, unread
    dealer.connect(endpoint)
    for _ in range(frames):
        dealer.send_multipart([b"", HEADER, PAYLOAD])
    return dealer


def _camhub_once(frames: int, run: int) -> float:
    hub = camhub.ImageHub(f"inproc://camhub-{run}")
    dealer = _fill(camhub.transport.context(), f"inproc://camhub-{run}", frames)
    return _timed(lambda: hub.recv_jpg(timeout=0), hub.send_reply, frames, dealer, hub.close)


def _imagezmq_once(frames: int, run: int) -> float:
    hub = imagezmq.ImageHub(f"inproc://imagezmq-{run}")
    hub.zmq_socket.setsockopt(zmq.RCVTIMEO, 100)
    dealer = _fill(hub.zmq_context, f"inproc://imagezmq-{run}", frames)

    def close() -> None:
        hub.zmq_socket.close(linger=0)

    return _timed(hub.recv_jpg, hub.send_reply, frames, dealer, close)


def _timed(
    recv: Callable[[], object],
    reply: Callable[[bytes], None],
    frames: int,
    dealer: zmq.Socket[Any],
    close: Callable[[], None],
) -> float:
    """Microseconds of this thread's CPU per frame."""
    try:
        t0 = time.thread_time()
        for _ in range(frames):
            recv()
            reply(b"OK")
        return (time.thread_time() - t0) / frames * 1e6
    finally:
        dealer.close(linger=0)
        close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    print(machine_description())
    best = {"imagezmq": float("inf"), "camhub": float("inf")}
    for run in range(args.repeats):  # alternate, so both see the same machine
        best["imagezmq"] = min(best["imagezmq"], _imagezmq_once(args.frames, run))
        best["camhub"] = min(best["camhub"], _camhub_once(args.frames, run))
    print_table(
        f"ImageHub recv_jpg + send_reply, {args.frames} queued 100-byte frames, "
        f"best of {args.repeats}",
        ["hub", "CPU us/frame", "vs imagezmq"],
        [[name, f"{us:.2f}", f"{us / best['imagezmq']:.2f}x"] for name, us in best.items()],
    )


if __name__ == "__main__":
    main()
