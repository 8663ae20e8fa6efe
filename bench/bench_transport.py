"""Transport benchmark: camhub against imagezmq 1.2.0, measured in the same run.

Every hub and every sender runs in its own process (forked from a multiprocessing
forkserver), so senders share no GIL with each other or with the hub, and the hub's
CPU time and memory are its own. Traffic is on 127.0.0.1. See bench/runner.py for how
processes are placed on CPUs.

Figures are medians of ``--runs`` runs (default 3), the runs of all variants
interleaved; ratios compare figures from this same run. Run it on a quiet machine:

    python -m bench.bench_transport            # about 4 minutes on 2 cores
    python -m bench.bench_transport --quick    # about 25 s, rough figures (CI smoke)
"""

from __future__ import annotations

import argparse
import datetime
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bench.common import (
    add_common_args,
    camhub_jpeg,
    machine_description,
    percentile,
    print_table,
    ratio,
    test_frame,
    tutorial_jpeg,
)
from bench.peers import HubSpec, Payload, RunResult, SenderSpec
from bench.runner import Case, measure, median_run, placement, run_case

MiB = 2**20
SLOW_WORK_S = 0.05
Target = tuple[str, str, bool]


@dataclass(frozen=True, slots=True)
class Settings:
    runs: int
    duration: float
    """Measuring window of a throughput run, seconds."""
    warmup: float
    age_duration: float
    slow_duration: float
    soak: float
    soak_warmup: float
    windows: tuple[int, ...]
    """camhub Sender windows to measure in the throughput section (the first is used
    everywhere else)."""
    pin: bool


def per_1k(seconds: float, frames: int) -> float:
    """Milliseconds of CPU per 1,000 frames."""
    return seconds * 1e6 / frames if frames else float("nan")


# -- the variants -------------------------------------------------------------------------


def throughput_cases(windows: Sequence[int]) -> list[Case]:
    frame = test_frame()
    payloads: list[tuple[str, Payload]] = [
        ("raw", frame),
        ("jpeg-q95", tutorial_jpeg(frame)),
        ("jpeg-q85", camhub_jpeg(frame)),
    ]
    cases = []
    for label, data in payloads:
        raw = label == "raw"
        for n in (1, 8) if label != "jpeg-q85" else (1,):
            cases += [
                Case(
                    "bare pyzmq PUSH/PULL",
                    HubSpec("pull", raw=raw),
                    SenderSpec("push", data),
                    n,
                    label,
                ),
                Case(
                    "bare pyzmq REQ/REP", HubSpec("rep", raw=raw), SenderSpec("req", data), n, label
                ),
                Case(
                    "imagezmq ImageSender -> ImageHub",
                    HubSpec("imagezmq", raw=raw),
                    SenderSpec("imagezmq", data),
                    n,
                    label,
                ),
                *(
                    Case(
                        f"camhub Sender(window={w}) -> Hub",
                        HubSpec("camhub", raw=raw),
                        SenderSpec("camhub", data, window=w),
                        n,
                        label,
                    )
                    for w in sorted(windows)
                ),
                Case(
                    "camhub ImageSender -> ImageHub (compat)",
                    HubSpec("camhub-compat", raw=raw),
                    SenderSpec("camhub-compat", data),
                    n,
                    label,
                ),
            ]
    return cases


def live_cases(window: int) -> list[Case]:
    frame = test_frame()
    return [
        Case(
            "imagezmq tutorial: q95 4:4:4 encode, send_jpg; hub decodes",
            HubSpec("imagezmq", decode=True),
            SenderSpec("imagezmq-live", frame),
        ),
        Case(
            f"camhub: q85 4:2:0 on 2 threads, Sender(window={window}); hub does not decode",
            HubSpec("camhub"),
            SenderSpec("camhub-live", frame, window=window, encoders=2),
        ),
    ]


def age_cases(window: int) -> list[Case]:
    jpeg = tutorial_jpeg(test_frame())
    return [
        Case(
            "imagezmq REQ/REP: hub loop recv_jpg + send_reply",
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

    def hub(kind: str) -> HubSpec:
        return HubSpec(kind, record_ages=True, work_s=SLOW_WORK_S)

    return [
        Case(
            "imagezmq PUB/SUB (senders bind, hub connects)",
            hub("imagezmq"),
            SenderSpec("imagezmq-pub", jpeg, fps=30),
            3,
        ),
        Case(
            f"camhub Sender(window={window}) -> Hub.frames()",
            hub("camhub"),
            SenderSpec("camhub", jpeg, fps=30, window=window),
            3,
        ),
        Case(
            "camhub Publisher -> Hub(subscribe_to=...).frames()",
            hub("camhub"),
            SenderSpec("camhub-pub", jpeg, fps=30),
            3,
        ),
        Case(
            "camhub ImageSender -> ImageHub, PUB/SUB (compat)",
            hub("camhub-compat"),
            SenderSpec("camhub-compat-pub", jpeg, fps=30),
            3,
        ),
    ]


# -- the sections -------------------------------------------------------------------------


def section_throughput(s: Settings) -> list[Target]:
    cases = throughput_cases(s.windows)
    results = measure(cases, s.runs, s.duration, s.warmup, s.pin)
    med = {c: median_run(results[c]) for c in cases}

    def fps(payload: str, n: int, kind: str) -> float:
        return max(
            (med[c].fps for c in cases if (c.payload, c.senders, c.hub.kind) == (payload, n, kind)),
            default=float("nan"),
        )

    rows = []
    for c in cases:
        r = med[c]
        bare = fps(c.payload, c.senders, "pull")
        rows.append(
            (
                c.payload,
                c.senders,
                c.label,
                r.fps,
                ratio(r.fps, fps(c.payload, c.senders, "imagezmq")),
                f"{r.fps / bare:.0%}" if bare > 0 else "n/a",
                per_1k(r.cpu, r.frames),
                per_1k(r.sender_cpu, r.frames),
                r.rss / MiB,
            )
        )
    print_table(
        "Throughput: 640x480 frames/s, pre-encoded JPEG or raw array, nobody decodes",
        [
            "payload",
            "senders",
            "sender -> hub",
            "frames/s",
            "vs imagezmq",
            "vs bare PUSH/PULL",
            "hub CPU ms/1k frames",
            "senders' CPU ms/1k frames",
            "hub RSS MiB",
        ],
        rows,
    )
    print("camhub runs (frames/s):")
    for c in cases:
        if c.hub.kind == "camhub":
            runs = ", ".join(f"{r.fps:,.0f}" for r in results[c])
            print(f"- {c.payload}, {c.senders} sender(s), {c.label}: {runs}")

    out: list[Target] = []
    for payload, n in sorted({(c.payload, c.senders) for c in cases}):
        best = max(
            (c for c in cases if c.hub.kind == "camhub" and (c.payload, c.senders) == (payload, n)),
            key=lambda c: med[c].fps,
        )
        cam, izmq, bare = med[best].fps, fps(payload, n, "imagezmq"), fps(payload, n, "pull")
        who = f"{n} sender{'s' if n > 1 else ''}, window={best.sender.window}"
        if payload == "raw":
            out.append(
                (
                    f"raw, {n} sender(s): camhub >= 1.2x imagezmq",
                    f"{cam:,.0f} vs {izmq:,.0f} = {cam / izmq:.2f}x ({who})",
                    cam >= 1.2 * izmq,
                )
            )
            continue
        need = 2.0 if n == 1 else 1.0
        out += [
            (
                f"{payload}, {n} sender(s): camhub pipelined >= {need:g}x imagezmq",
                f"{cam:,.0f} vs {izmq:,.0f} = {cam / izmq:.2f}x ({who})",
                cam >= need * izmq,
            ),
            (
                f"{payload}, {n} sender(s): camhub pipelined >= 70% of bare PUSH/PULL",
                f"{cam:,.0f} vs {bare:,.0f} = {cam / bare:.0%} ({who})",
                cam >= 0.7 * bare,
            ),
        ]
    return out


def section_live(s: Settings) -> list[Target]:
    cases = live_cases(s.windows[0])
    results = measure(cases, s.runs, s.duration, s.warmup, s.pin)
    med = [median_run(results[c]) for c in cases]
    base = med[0].fps
    print_table(
        "Live JPEG from a pixel array: 1 sender encodes every frame",
        ["sender -> hub", "frames/s", "vs imagezmq", "hub CPU ms/1k frames"],
        [
            (c.label, r.fps, ratio(r.fps, base), per_1k(r.cpu, r.frames))
            for c, r in zip(cases, med, strict=True)
        ],
    )
    cam = med[1].fps
    return [
        (
            "live JPEG: camhub >= 2x imagezmq's tutorial loop",
            f"{cam:,.0f} vs {base:,.0f} = {cam / base:.2f}x",
            cam >= 2 * base,
        )
    ]


def section_age(s: Settings) -> None:
    cases = age_cases(s.windows[0])
    results = measure(cases, s.runs, s.age_duration, s.warmup, s.pin)
    rows = []
    for c in cases:
        ages = [a for r in results[c] for a in r.ages]
        rows.append(
            (
                c.label,
                f"{c.senders} x 30 fps",
                len(ages),
                1000 * percentile(ages, 50),
                1000 * percentile(ages, 99),
                1000 * max(ages, default=float("nan")),
            )
        )
    print_table(
        "Frame age at the consumer (sender's capture stamp -> consumer code), JPEG",
        ["sender -> consumer", "senders", "frames", "p50 ms", "p99 ms", "max ms"],
        rows,
    )


def section_slow(s: Settings) -> list[Target]:
    rows = []
    out: list[Target] = []
    for c in slow_cases(s.windows[0]):
        r = run_case(c, s.slow_duration, s.warmup, s.pin)
        p99 = 1000 * percentile(r.ages, 99)
        rows.append(
            (
                c.label,
                f"{c.senders} x 30 fps",
                r.consumed,
                "not counted" if c.hub.kind == "imagezmq" else r.skipped,
                1000 * percentile(r.ages, 50),
                p99,
                1000 * max(r.ages, default=float("nan")),
            )
        )
        if c.hub.kind != "imagezmq":
            out.append(
                (
                    f"slow consumer, {c.label}: p99 age < 100 ms",
                    f"{p99:.0f} ms; {r.skipped:,} frames skipped, counted",
                    p99 < 100,
                )
            )
    print_table(
        f"Slow consumer: {SLOW_WORK_S * 1000:.0f} ms of work per frame, "
        f"{s.slow_duration:g} s, one run each",
        [
            "sender -> consumer",
            "senders",
            "consumed",
            "skipped",
            "age p50 ms",
            "age p99 ms",
            "age max ms",
        ],
        rows,
    )
    return out


def section_soak(s: Settings) -> list[Target]:
    window = s.windows[0]
    case = Case(
        f"camhub Sender(window={window}) -> Hub",
        HubSpec("camhub", sample_rss_every=1.0),
        SenderSpec("camhub", tutorial_jpeg(test_frame()), window=window),
        8,
    )
    # The warm-up lets allocator pools and socket buffers reach their working size.
    r: RunResult = run_case(case, s.soak, s.soak_warmup, s.pin)
    first = r.rss_samples[0] if r.rss_samples else r.rss
    growth = (r.rss - first) / first
    print_table(
        f"Hub memory: {s.soak:g} s at full speed, 8 senders, JPEG",
        [
            "sender -> hub",
            "frames",
            "frames/s",
            "hub CPU ms/1k frames",
            "RSS at 1 s MiB",
            "RSS at end MiB",
            "RSS peak MiB",
            "growth",
            "growth per 1k frames",
        ],
        [
            (
                case.label,
                r.frames,
                r.fps,
                per_1k(r.cpu, r.frames),
                first / MiB,
                r.rss / MiB,
                max(r.rss_samples, default=r.rss) / MiB,
                f"{growth:+.1%}",
                f"{(r.rss - first) / max(r.frames, 1) * 1000 / 1024:+.1f} KiB",
            )
        ],
    )
    return [
        (
            f"memory: hub RSS growth < 10% over {s.soak:g} s with 8 senders",
            f"{growth:+.1%} ({r.frames:,} frames)",
            growth < 0.10,
        )
    ]


# -- main ---------------------------------------------------------------------------------


def _windows(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers like 4,12, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("windows must be 1 or more")
    return values


def parse_args(argv: Sequence[str] | None) -> tuple[Settings, set[str]]:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_transport",
        description="camhub vs imagezmq 1.2.0: throughput, frame age, slow consumer, hub "
        "CPU and memory, with ratios measured in the same run. Prints markdown tables.",
    )
    add_common_args(parser)
    parser.add_argument(
        "--soak",
        type=float,
        default=None,
        metavar="SECONDS",
        help="length of the memory run (default 20; the issue's target is stated for 60)",
    )
    parser.add_argument(
        "--windows",
        type=_windows,
        default=None,
        metavar="N[,N...]",
        help="camhub Sender windows to compare (default 4,2,12; --quick: 4). The first is "
        "used for the live, age, slow-consumer and memory runs",
    )
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="let the scheduler place processes (default: hub on the first CPU, senders "
        "on the others)",
    )
    sections = ["throughput", "live", "age", "slow", "soak"]
    parser.add_argument(
        "--only", choices=sections, action="append", help="run only this section (repeatable)"
    )
    args = parser.parse_args(argv)
    if args.runs is not None and args.runs < 1:
        parser.error("--runs must be 1 or more")
    if args.quick:
        s = Settings(
            runs=args.runs or 1,
            duration=0.25,
            warmup=0.15,
            age_duration=0.6,
            slow_duration=1.2,
            soak=args.soak or 2.0,
            soak_warmup=0.5,
            windows=args.windows or (4,),
            pin=not args.no_pin,
        )
    else:
        s = Settings(
            runs=args.runs or 3,
            duration=1.2,
            warmup=0.3,
            age_duration=3.0,
            slow_duration=10.0,
            soak=args.soak or 20.0,
            soak_warmup=2.0,
            windows=args.windows or (4, 2, 12),
            pin=not args.no_pin,
        )
    return s, set(args.only or sections)


def main(argv: Sequence[str] | None = None) -> int:
    s, sections = parse_args(argv)
    started = time.monotonic()
    frame = test_frame()
    hub_cpus, sender_cpus = placement(s.pin)
    where = (
        f"hub pinned to CPU {hub_cpus[0]}, senders to CPU(s) {','.join(map(str, sender_cpus))}"
        if hub_cpus
        else "no CPU pinning"
    )
    argv_shown = list(sys.argv[1:] if argv is None else argv)
    print("# camhub transport benchmark\n")
    print(f"- command: `{shlex.join(['python', '-m', 'bench.bench_transport', *argv_shown])}`")
    print(f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"- machine: {machine_description()}")
    print(
        f"- test frame: 640x480 BGR, {frame.nbytes:,} bytes raw; {len(tutorial_jpeg(frame)):,} "
        f"bytes as q95 4:4:4 JPEG (the pre-encoded payload); {len(camhub_jpeg(frame)):,} "
        "bytes as camhub's q85 4:2:0"
    )
    print(
        f"- hub and senders each in their own process, loopback TCP, {where}; "
        f"{s.runs} run(s) per figure, median shown, variants interleaved",
        flush=True,
    )
    targets: list[Target] = []
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
            "Targets",
            ["target", "measured in this run", "met"],
            [(t, m, "yes" if ok else "NO") for t, m, ok in targets],
        )
    print(f"total time {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
