"""Runs one measured variant: a hub process plus its sender processes, one window.

Placement: by default the hub process is pinned to the first CPU and the senders to the
others, the way a real deployment has the hub and the cameras on different machines.
Unpinned, the scheduler sometimes puts a lock-step sender and its hub on one core,
where each hand-over is cheap, and sometimes on two, where it is not; imagezmq's
REQ/REP throughput then jumps between two modes about 2x apart from run to run.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from multiprocessing.process import BaseProcess

from bench.common import free_port, mp_context, usage
from bench.peers import HubSpec, RunResult, SenderSpec, hub_main, sender_main


def placement(pin: bool) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(hub CPUs, sender CPUs); empty tuples mean no pinning."""
    cpus = sorted(os.sched_getaffinity(0))
    if not pin or len(cpus) < 2:
        return (), ()
    return (cpus[0],), tuple(cpus[1:])


@dataclass(frozen=True, slots=True, eq=False)  # hashed by identity: holds arrays
class Case:
    """One measured variant: a hub kind and ``senders`` senders of one kind."""

    label: str
    hub: HubSpec
    sender: SenderSpec
    senders: int = 1
    payload_label: str = ""
    """Names the payload where one kind comes in several sizes (``jpeg-q85``)."""

    @property
    def payload(self) -> str:
        return self.payload_label or ("raw" if self.hub.raw else "jpeg")


def run_case(case: Case, duration: float, warmup: float, pin: bool) -> RunResult:
    hub_cpus, sender_cpus = placement(pin)
    specs = [replace(case.sender, index=i, cpus=sender_cpus) for i in range(case.senders)]
    hub = replace(case.hub, cpus=hub_cpus)
    if case.sender.kind.endswith("-pub"):  # PUB/SUB: the senders bind, the hub connects
        specs = [replace(s, endpoint=f"tcp://127.0.0.1:{free_port()}") for s in specs]
        hub = replace(hub, connect_to=tuple(s.endpoint for s in specs))
    return run_once(hub, specs, duration, warmup)


def measure(
    cases: Sequence[Case], runs: int, duration: float, warmup: float, pin: bool
) -> dict[Case, list[RunResult]]:
    """Run every case ``runs`` times, interleaved (A, B, C, A, B, C...) so that a burst
    of background load hits every variant alike."""
    results: dict[Case, list[RunResult]] = {c: [] for c in cases}
    for _ in range(runs):
        for case in cases:
            results[case].append(run_case(case, duration, warmup, pin))
    return results


def median_run(results: Sequence[RunResult]) -> RunResult:
    """The run with the median throughput (its CPU and memory figures go with it)."""
    ordered = sorted(results, key=lambda r: r.fps)
    return ordered[(len(ordered) - 1) // 2]


def _cpu(procs: Sequence[BaseProcess]) -> float:
    return sum(usage(p.pid).cpu for p in procs if p.pid is not None and p.is_alive())


def run_once(
    hub: HubSpec, senders: Sequence[SenderSpec], duration: float, warmup: float
) -> RunResult:
    """Start a hub process and its sender processes, measure one window, tear down."""
    ctx = mp_context()
    parent, child = ctx.Pipe()
    hub_proc: BaseProcess = ctx.Process(
        target=hub_main, args=(hub, child), name="bench-hub", daemon=True
    )
    stop = ctx.RawValue("i", 0)
    ready = ctx.Queue()
    procs: list[BaseProcess] = []
    hub_proc.start()
    try:
        if not parent.poll(30):
            raise RuntimeError(f"hub {hub.kind} did not start within 30 s")
        _tag, endpoint = parent.recv()
        for spec in senders:
            spec = replace(spec, endpoint=spec.endpoint or endpoint)
            proc: BaseProcess = ctx.Process(
                target=sender_main, args=(spec, stop, ready), daemon=True
            )
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
        for sender in procs:
            sender.join(timeout=5)
        try:
            parent.send(("exit", 0))
        except OSError:
            pass  # the hub is gone already
        hub_proc.join(timeout=10)
        for leftover in [*procs, hub_proc]:
            if leftover.is_alive():
                print(f"warning: {leftover.name} did not stop; terminating it", file=sys.stderr)
                leftover.terminate()
                leftover.join(timeout=5)
        ready.close()
