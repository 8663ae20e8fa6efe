"""Helpers shared by the benchmark scripts: test frames, process start-up, CPU/RSS
sampling, medians and a plain-text table printer.

Benchmarks print figures; they never assert on timings (CI machines are too noisy).
Absolute numbers move with machine load, so every script compares against a baseline
measured in the same run and prints the ratio.
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing as mp
import multiprocessing.context
import os
import platform
import socket
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import psutil
import simplejpeg

import camhub

WIDTH, HEIGHT = 640, 480
T = TypeVar("T")


# -- test frames ----------------------------------------------------------------------


@functools.cache
def test_frame(seed: int = 0, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """A BGR uint8 image that compresses like a camera frame.

    Smooth lighting gradients, solid objects with anti-aliased edges, low-frequency
    texture and a little sensor noise: about 90 KB as a q95 4:4:4 JPEG at 640x480 and
    30 KB at camhub's default q85 4:2:0. Pure noise would be far too big, a flat image
    far too small.
    """
    import cv2  # only the benchmarks need OpenCV's drawing functions

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.empty((height, width, 3), np.float32)
    base[..., 0] = 90 + 60 * np.sin(x / 97 + seed) + 30 * np.cos(y / 63)
    base[..., 1] = 110 + 50 * np.cos(x / 151) + 40 * np.sin((x + y) / 83)
    base[..., 2] = 130 + 70 * np.sin(y / 121 + seed)
    img = base.clip(0, 255).astype(np.uint8)
    for _ in range(25):
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        px, py = int(rng.integers(0, width)), int(rng.integers(0, height))
        if rng.random() < 0.5:
            cv2.circle(img, (px, py), int(rng.integers(8, 80)), colour, -1, cv2.LINE_AA)
        else:
            qx, qy = px + int(rng.integers(-120, 120)), py + int(rng.integers(-90, 90))
            cv2.rectangle(img, (px, py), (qx, qy), colour, -1)
    coarse = rng.normal(0, 3.0, (height // 2, width // 2, 3)).astype(np.float32)
    texture = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_LINEAR)
    noise = rng.normal(0, 2.0, (height, width, 3)).astype(np.float32)
    out = (img.astype(np.float32) + texture + noise).clip(0, 255).astype(np.uint8)
    return np.ascontiguousarray(cv2.GaussianBlur(out, (3, 3), 0))


def tutorial_jpeg(image: np.ndarray) -> bytes:
    """What imagezmq's tutorial senders do: simplejpeg at q95 with its defaults (4:4:4)."""
    return bytes(simplejpeg.encode_jpeg(image, quality=95, colorspace="BGR"))


def tutorial_decode(jpeg: bytes | memoryview) -> np.ndarray:
    """What imagezmq's tutorial hubs do with every JPEG they receive."""
    out: np.ndarray = simplejpeg.decode_jpeg(jpeg, colorspace="BGR")
    return out


def camhub_jpeg(image: np.ndarray) -> bytes:
    """camhub's default encoding: q85, 4:2:0 chroma subsampling."""
    return camhub.encode_jpeg(image)


# -- processes and sockets ------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for libraries that cannot
    bind to port 0 themselves, such as imagezmq)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@functools.cache
def mp_context() -> multiprocessing.context.ForkServerContext:
    """Processes forked from a clean server that has the heavy imports done already.

    Plain fork would copy the parent's ZeroMQ context into the child; spawn would pay
    about half a second of imports for every sender of every run.
    """
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["numpy", "zmq", "simplejpeg", "imagezmq", "camhub", "psutil"])
    return ctx


def pin(core: int) -> None:
    """Keep this process (and threads it starts later) on one core, where there are two or
    more: benchmarks put the hub on core 0 and its senders on core 1."""
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {core % (os.cpu_count() or 1)})


@dataclass(frozen=True, slots=True)
class Usage:
    """CPU seconds (user + system, all threads) and resident memory of one process."""

    cpu: float
    rss: int
    at: float


def usage(pid: int | None = None) -> Usage:
    proc = psutil.Process(pid if pid is not None else os.getpid())
    times = proc.cpu_times()
    return Usage(times.user + times.system, proc.memory_info().rss, time.perf_counter())


# -- statistics -------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return float(ordered[rank])


def median_of(runs: int, measure: Callable[[], T], key: Callable[[T], float]) -> tuple[T, list[T]]:
    """Run ``measure`` ``runs`` times; return the run with the median ``key`` and all runs."""
    results = [measure() for _ in range(runs)]
    ordered = sorted(results, key=key)
    return ordered[(len(ordered) - 1) // 2], results


# -- output -----------------------------------------------------------------------------


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A GitHub-flavoured markdown table, so the output pastes straight into the docs."""
    cells = [[str(c) for c in header]] + [[_cell(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n### {title}\n", flush=False)
    for n, row in enumerate(cells):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if n == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    print(flush=True)


def _cell(value: object) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "n/a"
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def ratio(value: float, base: float) -> str:
    if base != base or value != value or base <= 0:
        return "n/a"
    return f"{value / base:.2f}x"


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import zmq

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{cpu}, {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}; Python {platform.python_version()}, "
        f"pyzmq {zmq.__version__} (libzmq {zmq.zmq_version()}), numpy {np.__version__}, "
        f"simplejpeg {simplejpeg.__version__}; load average at start {load}"
    )


def add_common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one short run per figure (a smoke test for CI; the figures are rough)",
    )
    parser.add_argument(
        "--runs", type=int, default=None, help="runs per figure; the median is printed (default 3)"
    )
