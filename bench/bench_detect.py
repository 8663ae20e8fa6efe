#!/usr/bin/env python3
"""Object detection on the hub, measured (issue 11's targets), on this machine's CPUs.

Four cameras at 640x480, 15 fps, JPEG, are fed into a real :class:`~camhub.store.CameraStore`
(the hub's one ingest entry). Their scenes are real photographs: a person cut from
scikit-image's cameraman or astronaut photo walks across its rocket-launch photo for 4 s,
then the scene is empty for 6 s; the cameras' walks are staggered, so motion covers part
of the time. Detection is the built-in YOLOv3-tiny in one worker process (the defaults).

Phases, in one run, same scenes:

1. **motion-gated** (the default: ``detect_fps`` 5, motion gate on);
2. **every frame**: the same detector asked for every frame of every camera (gate off,
   ``detect_fps`` 15); it cannot keep up on a small CPU, so the figure is what it achieved
   and what it would have needed;
3. **no motion**: static scenes, detection on, then off: CPU the detection costs.

Printed: inferences/s, detect fps per camera while a person is in view, walks found (a
person in view >= 1 s), first-sight -> ``new`` event latency p50/p95, CPU with no motion,
and per detector job: the bytes the hub moved to the worker (pickled through its pipe, plus
what it wrote to shared memory where the pool has it) and the look latency (from the
scheduler picking the frame to its boxes back on the hub) p50/p95.

    python bench/bench_detect.py [--seconds 40] [--quick]
"""

from __future__ import annotations

import argparse
import multiprocessing.connection
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from camhub.bus import EventBus  # noqa: E402
from camhub.detect.pool import DetectorSpec  # noqa: E402
from camhub.detect.scheduler import ObjectDetection, ObjectsUpdate  # noqa: E402
from camhub.events.model import EventUpdate  # noqa: E402
from camhub.jpeg import encode_jpeg  # noqa: E402
from camhub.store import CameraStore  # noqa: E402
from camhub.types import Frame  # noqa: E402
from tests.detect.scene import Walker, astronaut, background, cameraman, render  # noqa: E402

CAMERAS = 4
FPS = 15.0
PERIOD = 10.0
WALK = 4.0


class PipeBytes:
    """Counts every byte this process sends through a multiprocessing Connection (the
    pool's pipes to its workers): the same measure for any version of the pool."""

    total = 0

    @classmethod
    def install(cls) -> None:
        conn = multiprocessing.connection.Connection
        send = conn._send_bytes  # type: ignore[attr-defined]

        def counted(self: object, buf: memoryview) -> None:
            cls.total += len(buf)
            send(self, buf)

        conn._send_bytes = counted  # type: ignore[attr-defined]


@dataclass
class Camera:
    name: str
    offset: float
    """Seconds into the cycle at which this camera's walk starts."""
    jpegs: list[bytes]
    visible: list[bool]
    """Per frame of the cycle: a person is in the picture."""
    empty: bytes


def build_cameras() -> list[Camera]:
    bg = background()
    people = [cameraman(), astronaut()]
    n = round(PERIOD * FPS)
    cams = []
    for i in range(CAMERAS):
        walker = [Walker(people[i % 2], -150, 640, 0.0, WALK)]
        jpegs, visible = [], []
        for k in range(n):
            t = k / FPS
            image, boxes = render(walker, t, bg)
            jpegs.append(encode_jpeg(image))
            box = boxes[0]
            visible.append(box is not None and box[2] > 40)
        cams.append(Camera(f"cam{i}", i * PERIOD / CAMERAS, jpegs, visible, encode_jpeg(bg)))
    return cams


@dataclass
class Walk:
    camera: str
    first_seen: float
    last_seen: float
    new_at: float | None = None


@dataclass
class Phase:
    name: str
    seconds: float = 0.0
    frames: int = 0
    inferences: int = 0
    walks: list[Walk] = field(default_factory=list)
    looks_in_view: dict[str, int] = field(default_factory=dict)
    seconds_in_view: dict[str, float] = field(default_factory=dict)
    cpu_s: float = 0.0
    avg_ms: float = 0.0
    """Average time per detector call in the worker (wall clock)."""
    started: float = 0.0
    jobs: int = 0
    piped: int = 0
    """Bytes sent through the workers' pipes during the phase."""
    shared: int = 0
    """Bytes written to the workers' shared memory during the phase."""
    look_ms: list[float] = field(default_factory=list)
    """Per look: scheduler picked the frame -> boxes back on the hub."""


class Feeder:
    """One thread putting every camera's frames into the store at 15 fps."""

    def __init__(self, store: CameraStore, cams: list[Camera], static: bool) -> None:
        self.store, self.cams, self.static = store, cams, static
        self.stop = threading.Event()
        self.frames = 0
        self.walks: dict[str, list[Walk]] = {c.name: [] for c in cams}
        self.in_view: dict[str, bool] = {c.name: False for c in cams}
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.start = 0.0

    def _run(self) -> None:
        self.start = time.time()
        k = 0
        while not self.stop.is_set():
            now = time.time()
            for cam in self.cams:
                t = (now - self.start + cam.offset) % PERIOD
                idx = int(t * FPS) % len(cam.jpegs)
                visible = not self.static and cam.visible[idx]
                jpeg = cam.jpegs[idx] if not self.static else cam.empty
                frame = Frame(cam.name, jpeg=jpeg, width=640, height=480, received_at=now)
                self.store.put(frame, "bench")
                self.frames += 1
                walks = self.walks[cam.name]
                if visible and not self.in_view[cam.name]:
                    walks.append(Walk(cam.name, now, now))
                if visible:
                    walks[-1].last_seen = now
                self.in_view[cam.name] = visible
            k += 1
            delay = self.start + k / FPS - time.time()
            if delay > 0:
                self.stop.wait(delay)


def cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def run_phase(
    name: str,
    cams: list[Camera],
    seconds: float,
    *,
    gated: bool,
    fps: float,
    static: bool = False,
    detect: bool = True,
) -> Phase:
    bus = EventBus()
    store = CameraStore(bus)
    phase = Phase(name, seconds)
    news: list[tuple[float, EventUpdate]] = []
    sub = bus.subscribe(lambda u: news.append((time.time(), u)), name="bench", kinds=(EventUpdate,))
    looks: list[tuple[float, str]] = []
    det = None
    if detect:
        det = ObjectDetection(
            store,
            bus,
            DetectorSpec("darknet"),
            labels=["person"],
            detect_fps=fps,
            motion_gated=gated,
        )
        det.add_listener(
            lambda u: (
                looks.append((time.time(), u.camera)) if isinstance(u, ObjectsUpdate) else None
            )
        )
        det.start()
        finish = det._finish

        def timed(done: object) -> None:
            now = time.time()
            for item in done.job.items:  # type: ignore[attr-defined]
                phase.look_ms.append((now - item.dispatched_at) * 1000)
            finish(done)  # type: ignore[arg-type]

        det._finish = timed  # type: ignore[method-assign]
    feeder = Feeder(store, cams, static)
    pids = [] if det is None else [w.pid for w in det.pool.workers if w.pid]
    me = psutil.Process()
    time.sleep(1.0)  # let the worker settle after loading
    feeder.thread.start()
    if static:
        # Each camera's first look is a full-frame detection (all news); CPU "when
        # nothing moves" is measured after those.
        time.sleep(3.0)
    cpu0 = cpu_of(pids) + sum(me.cpu_times()[:2])
    inf0 = 0 if det is None else sum(w.images for w in det.pool.workers)
    jobs0 = 0 if det is None else sum(w.inferences for w in det.pool.workers)
    piped0 = PipeBytes.total
    shared0 = 0 if det is None else getattr(det.pool, "shared_bytes", 0)
    phase.look_ms.clear()
    phase.started = feeder.start or time.time()
    time.sleep(seconds)
    feeder.stop.set()
    feeder.thread.join(5)
    feeder_end = time.time()
    phase.cpu_s = cpu_of(pids) + sum(me.cpu_times()[:2]) - cpu0
    phase.frames = feeder.frames if not static else round(seconds * FPS * CAMERAS)
    if det is not None:
        phase.inferences = sum(w.images for w in det.pool.workers) - inf0
        phase.jobs = sum(w.inferences for w in det.pool.workers) - jobs0
        phase.piped = PipeBytes.total - piped0
        phase.shared = getattr(det.pool, "shared_bytes", 0) - shared0
        phase.avg_ms = sum(w.total_ms for w in det.pool.workers) / max(
            1, sum(w.inferences for w in det.pool.workers)
        )
        det.stop()
    sub.flush(5)
    sub.close()
    store.stop()
    # Walks a person was in view >= 1 s, and when their `new` event came.
    for camera, walks in feeder.walks.items():
        for walk in walks:
            # In view >= 1 s, and not starting in the last 2 s of the phase (its event
            # could not have come before the frames stopped).
            # A walk already under way in the phase's first frame has no first sight.
            if (
                walk.last_seen - walk.first_seen < 1.0
                or walk.first_seen > feeder_end - 2.0
                or walk.first_seen < phase.started + 0.2
            ):
                continue
            for at, u in news:
                if (
                    u.type == "new"
                    and u.after.camera == camera
                    and walk.first_seen - 0.5 <= u.after.start <= walk.last_seen
                ):
                    walk.new_at = at
                    break
            phase.walks.append(walk)
            inside = [t for t, c in looks if c == camera and walk.first_seen <= t <= walk.last_seen]
            phase.looks_in_view[camera] = phase.looks_in_view.get(camera, 0) + len(inside)
            phase.seconds_in_view[camera] = phase.seconds_in_view.get(camera, 0.0) + (
                walk.last_seen - walk.first_seen
            )
    return phase


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def table(rows: list[list[str]], head: list[str]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def report(gated: Phase, every: Phase, still_on: Phase, still_off: Phase) -> None:
    load = ", ".join(f"{x:.1f}" for x in psutil.getloadavg())
    print(f"\n### Detection: 4 cameras 640x480 @ {FPS:.0f} fps, {gated.seconds:.0f} s per phase\n")
    print(
        f"{psutil.cpu_count()} CPUs, load average {load}; one worker process; detector call "
        f"{gated.avg_ms:.0f} ms (motion-gated) / {every.avg_ms:.0f} ms (every frame) on average.\n"
    )
    rows = []
    for p in (gated, every):
        found = [w for w in p.walks if w.new_at is not None]
        lat = [(w.new_at - w.first_seen) for w in found if w.new_at is not None]
        fps = [p.looks_in_view.get(c, 0) / p.seconds_in_view[c] for c in sorted(p.seconds_in_view)]
        rows.append(
            [
                p.name,
                f"{p.inferences / p.seconds:.1f}",
                f"{p.inferences}",
                f"{p.frames}",
                " / ".join(f"{f:.1f}" for f in fps) or "-",
                f"{len(found)}/{len(p.walks)}",
                f"{pct(lat, 0.5) * 1000:.0f}",
                f"{pct(lat, 0.95) * 1000:.0f}",
            ]
        )
    print(
        table(
            rows,
            [
                "mode",
                "inferences/s",
                "inferences",
                "frames in",
                "detect fps per camera while a person is in view",
                "walks found (>= 1 s in view)",
                "first sight -> new p50 ms",
                "p95 ms",
            ],
        )
    )
    for p in (gated, every):
        t0 = p.started
        missed = [
            f"{w.camera} at {w.first_seen - t0:.1f} s ({w.last_seen - w.first_seen:.1f} s in view)"
            for w in p.walks
            if w.new_at is None
        ]
        if missed:
            print(f"\n{p.name}: no `new` event for " + "; ".join(missed))
    needed = every.frames
    print(
        f"\nEvery-frame detection would need {needed / every.seconds:.0f} inferences/s "
        f"({needed} in {every.seconds:.0f} s); it achieved {every.inferences / every.seconds:.1f}/s "
        "on this CPU and skipped the rest."
    )
    ratio_needed = needed / max(1, gated.inferences)
    ratio_achieved = every.inferences / max(1, gated.inferences)
    print(
        f"Motion-gated used {ratio_needed:.1f}x fewer inferences than every-frame detection "
        f"needs (target: >= 5x); it ran {1 / max(ratio_achieved, 1e-9):.1f}x as many as the "
        "saturated every-frame mode managed, because it spends them on the cameras where "
        "something moves."
    )
    rows = []
    for p in (gated, every):
        jobs = max(1, p.jobs)
        rows.append(
            [
                p.name,
                f"{p.jobs}",
                f"{p.piped / jobs / 1024:.1f}",
                f"{p.shared / jobs / 1024:.1f}",
                f"{(p.piped + p.shared) / jobs / 1024:.1f}",
                f"{pct(p.look_ms, 0.5):.0f}",
                f"{pct(p.look_ms, 0.95):.0f}",
            ]
        )
    print()
    print(
        table(
            rows,
            [
                "mode",
                "jobs",
                "KiB/job through the pipe",
                "KiB/job into shared memory",
                "KiB/job in all",
                "look latency p50 ms",
                "p95 ms",
            ],
        )
    )
    on = still_on.cpu_s / still_on.seconds * 100
    off = still_off.cpu_s / still_off.seconds * 100
    print(
        f"\nNo motion ({still_on.seconds:.0f} s, 4 static cameras): hub + worker CPU "
        f"{on:.1f}% of one core with detection, {off:.1f}% without; detection costs "
        f"{on - off:.1f}% of one core (target <= 5%); inferences while still: {still_on.inferences}."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--seconds", type=float, default=40.0, help="length of each detection phase"
    )
    parser.add_argument("--still", type=float, default=15.0, help="length of each no-motion phase")
    parser.add_argument("--quick", action="store_true", help="short phases (smoke test)")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.still = 12.0, 5.0
    PipeBytes.install()
    print(f"bench_detect: {psutil.cpu_count()} CPUs, building scenes...", flush=True)
    cams = build_cameras()
    gated = run_phase("motion-gated (default)", cams, args.seconds, gated=True, fps=5.0)
    every = run_phase("every frame", cams, args.seconds, gated=False, fps=FPS)
    still_on = run_phase("still, detection on", cams, args.still, gated=True, fps=5.0, static=True)
    still_off = run_phase(
        "still, detection off", cams, args.still, gated=True, fps=5.0, static=True, detect=False
    )
    report(gated, every, still_on, still_off)


if __name__ == "__main__":
    main()
