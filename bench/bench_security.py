"""What CURVE encryption costs: pipelined Sender -> Hub throughput with 640x480 JPEG
frames, plaintext and CURVE in the same run (rounds alternate, medians compared), and
the CPU time each frame costs the sender and the hub (all threads, ZeroMQ's included).

The sender runs in its own process, as a camera would, so the two do not share a GIL,
and on a machine with two or more cores the hub is pinned to the first core and the
sender to the second (``--no-pin`` lets them share), as they would be on two machines.

    PYTHONPATH=. python bench/bench_security.py [--seconds 3] [--rounds 3] [--window N]

Target (issue 5): CURVE costs at most 20% of plaintext throughput.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import camhub
from bench.common import pin as pin_to
from camhub.security import CurveClient, CurveServer, write_key_pair

Row = tuple[float, float, float]
"""frames/s, sender CPU us per frame, hub CPU us per frame"""


def camera_like_jpeg(width: int = 640, height: int = 480, quality: int = 80) -> bytes:
    """Gradients plus sensor-like noise: compresses about like a real camera frame."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width]
    img = np.stack([x * 255 // (width - 1), y * 255 // (height - 1), (x + y) % 256], axis=-1)
    img = img.astype(np.uint8) + rng.integers(0, 24, (height, width, 3), dtype=np.uint8)
    return camhub.encode_jpeg(img, quality=quality)


def _send(
    endpoint: str,
    keys: tuple[str, str] | None,
    jpeg: bytes,
    seconds: float,
    window: int,
    out: mp.Queue[tuple[int, float, float]],
    pin: bool = False,
) -> None:
    if pin:
        pin_to(1)
    security = CurveClient(*keys) if keys else None
    with camhub.Sender(endpoint, window=window or None, timeout=5.0, security=security) as sender:
        sender.send_jpeg("bench", jpeg)  # connect and handshake outside the timing
        sender.flush()
        acked = sender.stats.acked
        out.put((0, 0.0, 0.0))  # timing starts
        cpu, start = time.process_time(), time.perf_counter()
        while time.perf_counter() - start < seconds:
            sender.send_jpeg("bench", jpeg)
        sender.flush()
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        out.put((sender.stats.acked - acked, elapsed, cpu))


def run_once(
    secure: bool, keydir: Path, jpeg: bytes, seconds: float, window: int, pin: bool
) -> Row:
    server = CurveServer(keydir / "hub.key_secret", keydir / "authorized") if secure else None
    keys = (str(keydir / "hub.key"), str(keydir / "cam.key_secret")) if secure else None
    spawn = mp.get_context("spawn")
    out: mp.Queue[tuple[int, float, float]] = spawn.Queue()
    with camhub.Hub("tcp://127.0.0.1:0", security=server) as hub:
        proc = spawn.Process(
            target=_send, args=(hub.endpoint, keys, jpeg, seconds, window, out, pin)
        )
        proc.start()
        out.get(timeout=60)
        hub_cpu = time.process_time()  # this process is the hub (its threads and ZeroMQ's)
        frames, elapsed, sender_cpu = out.get(timeout=seconds + 60)
        hub_cpu = time.process_time() - hub_cpu
        proc.join(timeout=10)
    return frames / elapsed, 1e6 * sender_cpu / frames, 1e6 * hub_cpu / frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per timed run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per mode, alternating")
    parser.add_argument(
        "--window",
        type=int,
        default=0,
        help="frames in flight per sender (default: Sender's own choice for the frame size)",
    )
    parser.add_argument("--no-pin", action="store_true", help="let hub and sender share cores")
    args = parser.parse_args()
    pin = not args.no_pin
    if pin:
        pin_to(0)  # this process is the hub

    jpeg = camera_like_jpeg()
    mb = len(jpeg) / 1e6
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"640x480 JPEG of {len(jpeg) / 1000:.1f} KB, window {args.window or 'auto'}, "
        f"{args.rounds} rounds of {args.seconds:.0f} s per mode; {os.cpu_count()} CPUs"
        f"{', hub and sender pinned to separate cores' if pin else ''}, load average {load:.1f}"
    )
    results: dict[str, list[Row]] = {"plaintext": [], "curve": []}
    with tempfile.TemporaryDirectory() as tmp:
        keydir = Path(tmp)
        write_key_pair(keydir, "hub")
        write_key_pair(keydir / "authorized", "cam")
        (keydir / "authorized" / "cam.key_secret").rename(keydir / "cam.key_secret")
        for r in range(args.rounds):
            for mode in ("plaintext", "curve") if r % 2 == 0 else ("curve", "plaintext"):
                fps, snd, hub = run_once(
                    mode == "curve", keydir, jpeg, args.seconds, args.window, pin
                )
                results[mode].append((fps, snd, hub))
                print(
                    f"  round {r + 1} {mode:9s} {fps:6.0f} frames/s {fps * mb:6.1f} MB/s   "
                    f"CPU per frame: sender {snd:5.1f} us, hub {hub:5.1f} us"
                )
    med = {
        m: [statistics.median(row[i] for row in rows) for i in range(3)]
        for m, rows in results.items()
    }
    for mode, (fps, snd, hub) in med.items():
        print(
            f"median {mode:9s} {fps:6.0f} frames/s ({fps * mb:.1f} MB/s), "
            f"CPU per frame: sender {snd:.1f} us, hub {hub:.1f} us"
        )
    ratio = med["curve"][0] / med["plaintext"][0]
    print(
        f"curve/plaintext throughput {ratio:.2f}: CURVE costs {100 * (1 - ratio):.0f}% (target <= 20%)"
    )
    snd, hub = (med["curve"][i] - med["plaintext"][i] for i in (1, 2))
    print(
        f"CURVE adds {snd:.1f} us (sender) + {hub:.1f} us (hub) of CPU per frame, i.e. "
        f"{hub * 30 / 1e4:.2f}% of one hub core per 30 fps camera"
    )


if __name__ == "__main__":
    main()
