#!/usr/bin/env python3
"""Detection on a Ray cluster, measured against local worker processes in the same run.

A real two-node Ray cluster is started on this machine (``ray start --head`` plus one
``ray start --address``, one CPU each, as in the tests). The frame is a 640x480 JPEG of a
real scene (a person from scikit-image's photos over its rocket-launch photo); the
detector is the built-in YOLOv3-tiny.

1. **throughput**: each pool kept full for ``--seconds``: local worker processes (1, then
   2) and Ray actors (1, then grown to 2, one per node): frames/s and the ratio;
2. **per-frame overhead**, one frame at a time so nothing queues: hub -> answer time
   minus the detector's own decode + inference time, for the local pool and the Ray path
   (hub -> pipe -> bridge -> actor call -> back), plus a bare Ray actor call carrying the
   same JPEG (no detection) for Ray's own share;
3. **hub-side CPU per frame** on the Ray path (this process and the bridge process), which
   bounds how many frames one hub can hand to a cluster.

On a 2-core machine two workers cannot be twice one: the figures to project from are the
per-frame costs, not the 2-worker totals. See docs/distributed.md.

    python bench/bench_ray.py [--seconds 15] [--quick]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from camhub.detect.pool import DetectorPool, DetectorSpec  # noqa: E402
from camhub.distributed import RayOptions, RayPool  # noqa: E402
from camhub.jpeg import encode_jpeg  # noqa: E402
from camhub.types import Frame  # noqa: E402
from tests.detect.scene import Walker, background, cameraman, render  # noqa: E402
from tests.distributed.cluster import Cluster, start_cluster  # noqa: E402


@dataclass
class Item:
    """What the scheduler hands a pool per look, to route the answer (a whole frame)."""

    frame: Frame
    region: None = None


def scene() -> tuple[Any, Frame]:
    image, _ = render([Walker(cameraman(), 10, 470, 0.0, 4.0)], 2.0, background())
    jpeg = encode_jpeg(image)
    h, w = image.shape[:2]
    return image, Frame("bench", jpeg=jpeg, width=w, height=h)


def worker_pids(pool: DetectorPool) -> list[int]:
    if isinstance(pool, RayPool):
        return [int(str(a.pid)) for a in pool.stats() if a.pid]
    return [w.pid for w in pool.workers if w.pid is not None]


def saturate(
    pool: DetectorPool, image: Any, frame: Frame, seconds: float
) -> tuple[float, float, float]:
    """Frames/s answered with the pool kept full, the detector's mean wall ms per frame,
    and the CPU ms per frame its processes used (robust when the machine is shared)."""
    answered, ms = 0, []
    cpu_start = 0.0
    end = time.monotonic() + seconds
    warm_until = time.monotonic() + min(3.0, seconds / 4)
    started = None
    while time.monotonic() < end:
        while (w := pool.free()) is not None:
            pool.submit(w, [pool.prepare(frame)], [Item(frame)])
        for done in pool.poll(0.01):
            if done.boxes is None:
                continue
            now = time.monotonic()
            if now < warm_until:
                continue
            if started is None:
                started = now
                cpu_start = cpu_seconds(worker_pids(pool))
                continue
            answered += 1
            ms.append(done.ms)
    elapsed = time.monotonic() - (started or end)
    cpu_ms = (cpu_seconds(worker_pids(pool)) - cpu_start) / max(1, answered) * 1000
    _drain(pool)
    return answered / max(elapsed, 1e-9), statistics.fmean(ms) if ms else 0.0, cpu_ms


def _drain(pool: DetectorPool, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        busy = [w for w in pool.workers if w.state == "busy"]
        inflight = getattr(pool, "_inflight", {})
        if not busy and not inflight:
            return
        pool.poll(0.05)


def serial(pool: DetectorPool, image: Any, frame: Frame, n: int) -> tuple[float, float]:
    """One frame at a time: median round trip and median overhead (round trip - detector)."""
    rtts, overheads = [], []
    for _ in range(n):
        w = None
        while w is None:
            w = pool.free()
            if w is None:
                pool.poll(0.01)
        t0 = time.perf_counter()
        job = pool.submit(w, [pool.prepare(frame)], [Item(frame)])
        got = None
        while got is None:
            for done in pool.poll(0.001):
                if done.job.id == job.id:
                    got = done
        rtt = (time.perf_counter() - t0) * 1000
        if got.boxes is not None:
            rtts.append(rtt)
            overheads.append(rtt - got.ms)
    return statistics.median(rtts), statistics.median(overheads)


def bare_ray_call(address: str, jpeg: bytes, n: int) -> float:
    """Median round trip of a Ray actor call carrying ``jpeg`` that only measures it."""
    import ray

    @ray.remote(num_cpus=0)
    class Echo:
        def size(self, data: bytes) -> int:
            return len(data)

    ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
    try:
        echo = Echo.remote()  # type: ignore[attr-defined]
        ray.get(echo.size.remote(jpeg))
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            ray.get(echo.size.remote(jpeg))
            times.append((time.perf_counter() - t0) * 1000)
        return statistics.median(times)
    finally:
        ray.shutdown()


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each phase")
    parser.add_argument("--serial", type=int, default=40, help="frames in the overhead phase")
    parser.add_argument("--quick", action="store_true", help="short phases (smoke test)")
    args = parser.parse_args()
    seconds, n_serial = (4.0, 8) if args.quick else (args.seconds, args.serial)
    spec = DetectorSpec("darknet")
    image, frame = scene()
    assert frame.jpeg is not None
    print(
        f"frame: 640x480 JPEG, {len(frame.jpeg) / 1024:.1f} KB; cores: {os.cpu_count()}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    results: dict[str, float] = {}

    def local(workers: int, label: str) -> None:
        pool = DetectorPool(spec, workers=workers).start()
        try:
            fps, ms, cpu = saturate(pool, image, frame, seconds)
            results[label] = fps
            results[label + "_cpu"] = cpu
            print(
                f"local worker processes x{workers}: {fps:6.2f} frames/s "
                f"(detector: {ms:.0f} ms wall, {cpu:.0f} ms CPU per frame)"
            )
            if label == "local1":
                rtt, over = serial(pool, image, frame, n_serial)
                results["local_overhead"] = over
                print(f"  one at a time: {rtt:.1f} ms round trip, {over:.1f} ms overhead")
        finally:
            pool.stop()

    # Phases interleave (local, Ray, local, Ray, local again) so that a change in the
    # machine's load during the run shows instead of favouring one side.
    with tempfile.TemporaryDirectory(prefix="camhub-bench-ray-") as tmp:
        cluster: Cluster = start_cluster(Path(tmp))
        saved = {k: os.environ.get(k) for k in cluster.env if k.startswith("RAY_")}
        os.environ.update({k: v for k, v in cluster.env.items() if k.startswith("RAY_")})
        try:
            local(1, "local1")
            pool = RayPool(spec, RayOptions(address=cluster.address, actors=1, num_cpus=1))
            pool.start()
            try:
                bridge = pool._bridge
                assert bridge is not None
                hub_pids = [os.getpid(), bridge.process.pid]
                cpu0, sent0 = cpu_seconds(hub_pids), pool.sent
                fps, ms, cpu = saturate(pool, image, frame, seconds)
                cpu_per_frame = (cpu_seconds(hub_pids) - cpu0) / max(1, pool.sent - sent0) * 1000
                results["ray1"] = fps
                results["ray1_cpu"] = cpu
                print(
                    f"Ray actors x1 (2-node cluster): {fps:6.2f} frames/s "
                    f"(detector: {ms:.0f} ms wall, {cpu:.0f} ms CPU per frame)"
                )
                rtt, over = serial(pool, image, frame, n_serial)
                results["ray_overhead"] = over
                print(f"  one at a time: {rtt:.1f} ms round trip, {over:.1f} ms overhead")
                print(f"  hub-side CPU per frame (hub + bridge process): {cpu_per_frame:.2f} ms")
                local(2, "local2")
                pool.grow(1)
                end = time.monotonic() + 120
                while time.monotonic() < end:
                    pool.poll(0.1)
                    if sum(a.state in ("ready", "busy") for a in pool.stats()) == 2:
                        break
                nodes = {a.node_id for a in pool.stats()}
                fps, ms, cpu = saturate(pool, image, frame, seconds)
                results["ray2"] = fps
                print(
                    f"Ray actors x2 ({len(nodes)} nodes): {fps:6.2f} frames/s "
                    f"(detector: {ms:.0f} ms wall, {cpu:.0f} ms CPU per frame)"
                )
            finally:
                pool.stop()
            bare = bare_ray_call(cluster.address, frame.jpeg, max(20, n_serial))
            print(f"bare Ray actor call with the 640x480 JPEG: {bare:.2f} ms round trip")
            local(1, "local1_again")
        finally:
            cluster.stop()
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    print()
    local1 = (results["local1"] + results["local1_again"]) / 2
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    print(f"ratio Ray x1 / local x1 (mean of both local x1 runs): {results['ray1'] / local1:.2f}")
    print(f"ratio Ray x2 / local x2: {results['ray2'] / results['local2']:.2f}")
    print(
        f"ratio Ray x2 / Ray x1:   {results['ray2'] / results['ray1']:.2f} (2 cores shared: <= 2)"
    )
    print(
        f"per-frame overhead, Ray path - local path: {results['ray_overhead'] - results['local_overhead']:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
