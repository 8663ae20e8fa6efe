"""Transport benchmark: camhub against imagezmq 1.2.0, measured in the same run.

Every hub runs in its own process and every sender in its own process (forked from a
multiprocessing forkserver), so senders do not share a GIL with each other or with the
hub, and the hub's CPU time and memory are its own. All traffic is on 127.0.0.1.

Figures are medians of ``--runs`` runs (default 3), the runs of all variants
interleaved so that background load hits them alike; ratios compare figures from this
same run. Run it on a quiet machine: ``python -m bench.bench_transport``.
"""

from __future__ import annotations

import argparse
import datetime
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from multiprocessing.process import BaseProcess

from bench.common import (
    add_common_args,
    camhub_jpeg,
    machine_description,
    median,
    mp_context,
    percentile,
    print_table,
    ratio,
    test_frame,
    tutorial_jpeg,
    usage,
)
from bench.peers import HubSpec, Payload, RunResult, SenderSpec, hub_main, sender_main

MiB = 2**20


@dataclass(frozen=True, slots=True)
class Settings:
    runs: int
    duration: float
    """Measuring window of a throughput run, seconds."""
    warmup: float
    age_duration: float
    slow_duration: float
    soak: float
    window: int


def run_once(hub: HubSpec, senders: Sequence[SenderSpec], duration: float, warmup: float) -> RunResult:
    """Start a hub process and its sender processes, measure one window, tear down."""
    ctx = mp_context()
    parent, child = ctx.Pipe()
    hub_proc = ctx.Process(target=hub_main, args=(hub, child), name="bench-hub", daemon=True)
    stop = ctx.RawValue("i", 0)
    ready = ctx.Queue()
    procs = []
    hub_proc.start()
    try:
        if not parent.poll(30):
            raise RuntimeError(f"hub {hub.kind} did not start within 30 s")
        _tag, endpoint = parent.recv()
        for spec in senders:
            spec = replace(spec, endpoint=spec.endpoint or endpoint)
            proc = ctx.Process(target=sender_main, args=(spec, stop, ready), daemon=True)
            proc.start()
            procs.append(proc)
        for _ in procs:
            ready.get(timeout=30)
        time.sleep(warmup)
        cpu_before = _cpu(procs)
        parent.send(("go", duration))
        if not parent.poll(duration + 30):
            raise RuntimeError(f"hub {hub.kind} did not report within {duration + 30:.0f} s")
        _tag, result = parent.recv()
        assert isinstance(result, RunResult)
        result.sender_cpu = _cpu(procs) - cpu_before
        return result
    finally:
        stop.value = 1
        for proc in procs:
            proc.join(timeout=5)
        parent.send(("exit", 0))
        hub_proc.join(timeout=10)
        for proc in [*procs, hub_proc]:
            if proc.is_alive():
                print(f"warning: {proc.name} did not stop; terminating it", file=sys.stderr)
                proc.terminate()
                proc.join(timeout=5)
        ready.close()


def _cpu(procs: Sequence[BaseProcess]) -> float:
    return sum(usage(p.pid).cpu for p in procs if p.pid is not None)


@dataclass(frozen=True, slots=True, eq=False)  # hashed by identity: holds arrays
class Case:
    """One measured variant: a hub kind and ``senders`` senders of one kind."""

    label: str
    hub: HubSpec
    sender: SenderSpec
    senders: int = 1

    def specs(self, ports: Callable[[], int] | None = None) -> list[SenderSpec]:
        out = []
        for i in range(self.senders):
            endpoint = f"tcp://127.0.0.1:{ports()}" if ports is not None else ""
            out.append(replace(self.sender, index=i, endpoint=endpoint))
        return out


def measure_cases(
    cases: Sequence[Case], runs: int, duration: float, warmup: float
) -> dict[Case, list[RunResult]]:
    """Run every case ``runs`` times, interleaved (case A, B, C, A, B, C...)."""
    results: dict[Case, list[RunResult]] = {c: [] for c in cases}
    for _ in range(runs):
        for case in cases:
            results[case].append(run_once(case.hub, case.specs(), duration, warmup))
    return results


def median_run(results: list[RunResult]) -> RunResult:
    """The run with the median throughput (its CPU and memory figures go with it)."""
    ordered = sorted(results, key=lambda r: r.fps)
    return ordered[(len(ordered) - 1) // 2]


# -- the sections -----------------------------------------------------------------------


def throughput_cases(window: int) -> list[Case]:
    frame = test_frame()
    payloads: list[tuple[str, Payload]] = [("raw", frame), ("jpeg", tutorial_jpeg(frame))]
    cases = []
    for payload, data in payloads:
        raw = payload == "raw"
        for n in (1, 8):
            cases += [
                Case("bare pyzmq PUSH/PULL", HubSpec("pull", raw=raw), SenderSpec("push", data), n),
                Case("bare pyzmq REQ/REP", HubSpec("rep", raw=raw), SenderSpec("req", data), n),
                Case(
                    "imagezmq ImageSender -> ImageHub",
                    HubSpec("imagezmq", raw=raw),
                    SenderSpec("imagezmq", data),
                    n,
                ),
                Case(
                    f"camhub Sender(window={window}) -> Hub",
                    HubSpec("camhub", raw=raw),
                    SenderSpec("camhub", data, window=window),
                    n,
                ),
                Case(
                    "camhub ImageSender -> ImageHub (compat)",
                    HubSpec("camhub-compat", raw=raw),
                    SenderSpec("camhub-compat", data),
                    n,
                ),
            ]
    return cases


def live_cases(window: int) -> list[Case]:
    frame = test_frame()
    return [
        Case(
            "imagezmq tutorial: q95 4:4:4 encode, send_jpg, hub decodes",
            HubSpec("imagezmq", decode=True),
            SenderSpec("imagezmq-live", frame),
        ),
        Case(
            f"camhub: q85 4:2:0 on 2 threads, Sender(window={window}), hub does not decode",
            HubSpec("camhub"),
            SenderSpec("camhub-live", frame, window=window, encoders=2),
        ),
    ]


def age_cases(window: int) -> list[Case]:
    jpeg = tutorial_jpeg(test_frame())
    return [
        Case(
            "imagezmq REQ/REP, hub loop recv_jpg + send_reply",
            HubSpec("imagezmq", record_ages=True),
            SenderSpec("imagezmq", jpeg, fps=30),
            4,
        ),
        Case(
            f"camhub Sender(window={window}) -> Hub.frames()",
            HubSpec("camhub", record_ages=True),
            SenderSpec("camhub", jpeg, fps=30, window=window),
            4,
        ),
    ]


def slow_cases(window: int) -> list[Case]:
    jpeg = tutorial_jpeg(test_frame())
    slow = {"record_ages": True, "work_s": 0.05}
    return [
        Case(
            "imagezmq PUB/SUB (senders bind, hub connects)",
            HubSpec("imagezmq", **slow),  # type: ignore[arg-type]
            SenderSpec("imagezmq-pub", jpeg, fps=30),
            3,
        ),
        Case(
            f"camhub Sender(window={window}) -> Hub.frames()",
            HubSpec("camhub", **slow),  # type: ignore[arg-type]
            SenderSpec("camhub", jpeg, fps=30, window=window),
            3,
        ),
        Case(
            "camhub Publisher -> Hub(subscribe_to=...).frames()",
            HubSpec("camhub", **slow),  # type: ignore[arg-type]
            SenderSpec("camhub-pub", jpeg, fps=30),
            3,
        ),
        Case(
            "camhub ImageSender/ImageHub PUB/SUB (compat)",
            HubSpec("camhub-compat", **slow),  # type: ignore[arg-type]
            SenderSpec("camhub-compat-pub", jpeg, fps=30),
            3,
        ),
    ]


def run_pubsub_case(case: Case, duration: float, warmup: float) -> RunResult:
    """PUB/SUB cases: the senders bind, so their addresses are chosen here."""
    from bench.common import free_port

    if case.sender.kind.endswith("-pub"):
        specs = case.specs(free_port)
        hub = replace(case.hub, connect_to=tuple(s.endpoint for s in specs))
    else:
        specs, hub = case.specs(), case.hub
    return run_once(hub, specs, duration, warmup)


def ms(seconds: float) -> float:
    return seconds * 1000.0


# -- main -----------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_transport",
        description="camhub vs imagezmq 1.2.0: throughput, frame age, slow consumer, hub "
        "CPU and memory. Prints markdown tables.",
    )
    add_common_args(parser)
    parser.add_argument(
        "--soak", type=float, default=None, help="seconds of the memory run (default 20; the issue asks 60)"
    )
    parser.add_argument(
        "--window", type=int, default=4, help="frames in flight for camhub's Sender (default 4)"
    )
    parser.add_argument(
        "--only",
        choices=["throughput", "live", "age", "slow", "soak"],
        action="append",
        help="run only these sections (repeatable)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        s = Settings(args.runs or 1, 0.4, 0.2, 1.0, 2.0, args.soak or 3.0, args.window)
    else:
        s = Settings(args.runs or 3, 1.5, 0.3, 3.0, 10.0, args.soak or 20.0, args.window)
    sections = set(args.only or ["throughput", "live", "age", "slow", "soak"])

    started = time.monotonic()
    print("# camhub transport benchmark\n")
    print(f"- command: `{shlex.join(['python', '-m', 'bench.bench_transport', *sys.argv[1:]])}`")
    print(f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"- machine: {machine_description()}")
    frame = test_frame()
    print(
        f"- test frame: 640x480 BGR, {frame.nbytes:,} bytes raw, "
        f"{len(tutorial_jpeg(frame)):,} bytes as q95 4:4:4 JPEG (the pre-encoded payload), "
        f"{len(camhub_jpeg(frame)):,} bytes as camhub's q85 4:2:0"
    )
    print(
        "- every hub and every sender runs in its own process; loopback TCP; "
        f"{s.runs} run(s) per figure, median shown, variants interleaved"
    )
    targets: list[tuple[str, str, bool]] = []

    if "throughput" in sections:
        targets += section_throughput(s)
    if "live" in sections:
        targets += section_live(s)
    if "age" in sections:
        section_age(s)
    if "slow" in sections:
        targets += section_slow(s)
    if "soak" in sections:
        targets += section_soak(s)

    if targets:
        print_table(
            "Targets (issue 2)",
            ["target", "measured in this run", "met"],
            [(t, m, "yes" if ok else "NO") for t, m, ok in targets],
        )
    print(f"total time {time.monotonic() - started:.0f} s")
    return 0


def section_throughput(s: Settings) -> list[tuple[str, str, bool]]:
    cases = throughput_cases(s.window)
    results = measure_cases(cases, s.runs, s.duration, s.warmup)
    med = {c: median_run(results[c]) for c in cases}
    by_key = {(c.hub.raw, c.senders, c.hub.kind): med[c] for c in cases}
    rows = []
    for c in cases:
        r = med[c]
        base = by_key[(c.hub.raw, c.senders, "imagezmq")].fps
        bare = by_key[(c.hub.raw, c.senders, "pull")].fps
        rows.append(
            (
                "raw" if c.hub.raw else "jpeg",
                c.senders,
                c.label,
                r.fps,
                ratio(r.fps, base),
                f"{r.fps / bare:.0%}" if bare else "n/a",
                ms(r.cpu) / r.frames * 1000 if r.frames else float("nan"),
                r.rss / MiB,
            )
        )
    print_table(
        f"Throughput, 640x480 frames/s (pre-encoded JPEG or raw array, no decoding; "
        f"{s.duration:g} s windows)",
        [
            "payload",
            "senders",
            "sender -> hub",
            "frames/s",
            "vs imagezmq",
            "vs bare PUSH/PULL",
            "hub CPU ms / 1k frames",
            "hub RSS MiB",
        ],
        rows,
    )
    spread = [
        f"{c.label} ({'raw' if c.hub.raw else 'jpeg'}, {c.senders}): "
        + "/".join(f"{r.fps:,.0f}" for r in results[c])
        for c in cases
        if c.hub.kind == "camhub"
    ]
    print("all runs, camhub pipelined: " + "; ".join(spread))

    out = []
    for raw in (False, True):
        for n in (1, 8):
            cam = by_key[(raw, n, "camhub")].fps
            izmq = by_key[(raw, n, "imagezmq")].fps
            bare = by_key[(raw, n, "pull")].fps
            kind = "raw" if raw else "JPEG"
            if raw:
                out.append(
                    (f"raw, {n} sender(s): camhub >= imagezmq", f"{cam:,.0f} vs {izmq:,.0f} ({cam / izmq:.2f}x)", cam >= izmq)
                )
                continue
            need = 2.0 if n == 1 else 1.0
            out.append(
                (
                    f"{kind}, {n} sender(s): camhub pipelined >= {need:g}x imagezmq",
                    f"{cam:,.0f} vs {izmq:,.0f} ({cam / izmq:.2f}x)",
                    cam >= need * izmq,
                )
            )
            out.append(
                (
                    f"{kind}, {n} sender(s): camhub pipelined >= 70% of bare PUSH/PULL",
                    f"{cam:,.0f} vs {bare:,.0f} ({cam / bare:.0%})",
                    cam >= 0.7 * bare,
                )
            )
    return out


def section_live(s: Settings) -> list[tuple[str, str, bool]]:
    cases = live_cases(s.window)
    results = measure_cases(cases, s.runs, s.duration, s.warmup)
    med = [median_run(results[c]) for c in cases]
    base = med[0].fps
    print_table(
        "Live JPEG from a pixel array, 1 sender (the sender encodes every frame)",
        ["sender -> hub", "frames/s", "vs imagezmq", "hub CPU ms / 1k frames"],
        [
            (c.label, r.fps, ratio(r.fps, base), ms(r.cpu) / r.frames * 1000 if r.frames else 0.0)
            for c, r in zip(cases, med, strict=True)
        ],
    )
    cam = med[1].fps
    return [("live JPEG: camhub >= 2x imagezmq tutorial loop", f"{cam:,.0f} vs {base:,.0f} ({cam / base:.2f}x)", cam >= 2 * base)]


def section_age(s: Settings) -> None:
    cases = age_cases(s.window)
    results = measure_cases(cases, s.runs, s.age_duration, s.warmup)
    rows = []
    for c in cases:
        ages = [a for r in results[c] for a in r.ages]
        rows.append(
            (
                c.label,
                f"{c.senders} x 30 fps",
                len(ages),
                ms(percentile(ages, 50)),
                ms(percentile(ages, 99)),
                ms(max(ages, default=float("nan"))),
            )
        )
    print_table(
        "Frame age at the consumer (capture -> consumer code), fast consumer, JPEG",
        ["sender -> consumer", "senders", "frames", "p50 ms", "p99 ms", "max ms"],
        rows,
    )


def section_slow(s: Settings) -> list[tuple[str, str, bool]]:
    cases = slow_cases(s.window)
    rows = []
    out = []
    for c in cases:
        r = run_pubsub_case(c, s.slow_duration, s.warmup)
        p99 = ms(percentile(r.ages, 99))
        rows.append(
            (
                c.label,
                f"{c.senders} x 30 fps",
                r.consumed,
                r.skipped if c.hub.kind != "imagezmq" else "not counted",
                ms(percentile(r.ages, 50)),
                p99,
                ms(max(r.ages, default=float("nan"))),
            )
        )
        if c.hub.kind == "camhub" and c.sender.kind == "camhub":
            out.append(("slow consumer: camhub p99 frame age < 100 ms", f"{p99:.0f} ms, {r.skipped} skipped (counted)", p99 < 100))
    print_table(
        f"Slow consumer: 50 ms of work per frame, {s.slow_duration:g} s, one run each",
        ["sender -> consumer", "senders", "consumed", "skipped", "age p50 ms", "age p99 ms", "age max ms"],
        rows,
    )
    return out


def section_soak(s: Settings) -> list[tuple[str, str, bool]]:
    jpeg = tutorial_jpeg(test_frame())
    case = Case(
        f"camhub Sender(window={s.window}) -> Hub",
        HubSpec("camhub", sample_rss_every=1.0),
        SenderSpec("camhub", jpeg, window=s.window),
        8,
    )
    # A longer warm-up lets allocator pools and socket buffers reach their working size.
    r = run_once(case.hub, case.specs(), s.soak, max(s.warmup, 2.0))
    first = r.rss_samples[0] if r.rss_samples else r.rss
    peak = max(r.rss_samples, default=r.rss)
    growth = (r.rss - first) / first
    print_table(
        f"Hub memory over a {s.soak:g} s run, 8 senders at full speed, JPEG",
        ["sender -> hub", "frames", "frames/s", "hub CPU ms / 1k frames", "RSS after 1 s MiB", "RSS end MiB", "RSS peak MiB", "growth"],
        [
            (
                case.label,
                r.frames,
                r.fps,
                ms(r.cpu) / r.frames * 1000 if r.frames else 0.0,
                first / MiB,
                r.rss / MiB,
                peak / MiB,
                f"{growth:+.1%}",
            )
        ],
    )
    return [(f"memory: hub RSS growth < 10% over {s.soak:g} s, 8 senders", f"{growth:+.1%}", growth < 0.10)]


if __name__ == "__main__":
    sys.exit(main())
