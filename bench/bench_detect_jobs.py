#!/usr/bin/env python3
"""What a detector job costs besides the model: bytes moved to the worker, hub CPU, and the
round trip, with a detector that costs next to nothing (bright blobs, ``tests/detect/blobs.py``).

One local worker process, one job at a time. Each job starts from a fresh JPEG frame (as the
hub receives it) and a region: the whole frame, or a motion-sized region (a third of each
side). Figures per job: bytes sent through the worker's pipe, bytes written to its shared
memory (if the pool has it), hub CPU (decode, crop, fit, send, map back), worker CPU, and the
round trip from "frame picked" to "boxes back" (median and p95), minus what the worker says
the detector itself took.

Runs against whichever camhub is on the path (``PYTHONPATH``): compare two checkouts by
running it in each, back to back.

    python bench/bench_detect_jobs.py [--jobs 200]
"""

from __future__ import annotations

import argparse
import multiprocessing.connection
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import test_frame  # noqa: E402
from camhub.detect.pool import DetectorPool, DetectorSpec  # noqa: E402
from camhub.jpeg import encode_jpeg  # noqa: E402
from camhub.types import Frame  # noqa: E402

piped = 0


def count_pipe() -> None:
    conn = multiprocessing.connection.Connection
    send = conn._send_bytes  # type: ignore[attr-defined]

    def counted(self: object, buf: memoryview) -> None:
        global piped
        piped += len(buf)
        send(self, buf)

    conn._send_bytes = counted  # type: ignore[attr-defined]


def run(pool: DetectorPool, jpeg: bytes, size: tuple[int, int], region: Any, jobs: int) -> str:
    global piped
    w, h = size
    worker = pool.workers[0]
    me, child = psutil.Process(), psutil.Process(worker.pid)
    hub0, child0 = sum(me.cpu_times()[:2]), sum(child.cpu_times()[:2])
    piped0, shared0 = piped, getattr(pool, "shared_bytes", 0)
    trips, model = [], []
    for _ in range(jobs):
        frame = Frame("cam", jpeg=jpeg, width=w, height=h)
        started = time.perf_counter()
        free = pool.free()
        assert free is not None
        if hasattr(pool, "prepare"):  # looks: fitted on the hub, shared memory
            pool.submit(free, [pool.prepare(frame, region)], [None])
        else:  # before: the decoded crop, pickled through the pipe
            image = frame.image
            if region is not None:
                x, y, rw, rh = region
                image = image[y : y + rh, x : x + rw]
            pool.submit(free, [image], [None])  # type: ignore[list-item]
        done: list[Any] = []
        while not done:
            done = pool.poll(0.5)
        assert done[0].boxes is not None, done[0].error
        trips.append((time.perf_counter() - started) * 1000)
        model.append(done[0].ms)
    hub = (sum(me.cpu_times()[:2]) - hub0) / jobs * 1000
    work = (sum(child.cpu_times()[:2]) - child0) / jobs * 1000
    pipe = (piped - piped0) / jobs / 1024
    shm = (getattr(pool, "shared_bytes", 0) - shared0) / jobs / 1024
    trips.sort()
    p95 = trips[int(0.95 * (len(trips) - 1))]
    over = statistics.median(t - m for t, m in zip(trips, model, strict=True))
    return (
        f"| {w}x{h} | {'whole' if region is None else 'region'} | {pipe:.1f} | {shm:.1f} | "
        f"{hub:.2f} | {work:.2f} | {statistics.median(trips):.2f} | {p95:.2f} | {over:.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    args = parser.parse_args()
    count_pipe()
    import camhub

    pool = DetectorPool(DetectorSpec("blobs_for_test", modules=("tests.detect.blobs",))).start()
    try:
        load = ", ".join(f"{x:.1f}" for x in psutil.getloadavg())
        print(f"\ncamhub from {Path(camhub.__file__).parent}; load average {load}")
        print(f"{args.jobs} jobs per row, one worker, detector: bright blobs at 320x320\n")
        print(
            "| frame | look | KiB/job pipe | KiB/job shared memory | hub CPU ms/job | "
            "worker CPU ms/job | round trip p50 ms | p95 ms | round trip - detector, p50 ms |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for w, h in ((640, 480), (1280, 720)):
            image = np.ascontiguousarray(test_frame(0, w, h))
            image[h // 3 : h // 3 + 40, w // 3 : w // 3 + 40] = 255
            jpeg = encode_jpeg(image)
            run(pool, jpeg, (w, h), None, 10)  # warm
            for region in (None, (w // 3, h // 3, w // 3, h // 3)):
                print(run(pool, jpeg, (w, h), region, args.jobs), flush=True)
    finally:
        pool.stop()


if __name__ == "__main__":
    main()
