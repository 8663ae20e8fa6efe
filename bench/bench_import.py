"""How long ``import camhub`` takes against ``import imagezmq``, in fresh interpreters.

Each round starts one ``python -c "import X"`` per package, in alternating order, and
times the import inside the child (``time.perf_counter`` around the import statement, so
interpreter start-up is left out). Medians over the rounds, and their ratio.

    python -m bench.bench_import [--rounds 15]

Target (issue 8): ``import camhub`` <= 1.5x ``import imagezmq``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

CHILD = (
    "import time; t = time.perf_counter(); import {module}; "
    "print(time.perf_counter() - t); import sys; print(len(sys.modules))"
)


def time_import(module: str) -> tuple[float, int]:
    """Seconds the import took in a fresh interpreter, and how many modules it loaded."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(module=module)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.split()
    return float(out[0]), int(out[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    modules = ["imagezmq", "camhub"]
    times: dict[str, list[float]] = {m: [] for m in modules}
    loaded: dict[str, int] = {}
    for i in range(args.rounds + 1):
        for module in modules if i % 2 else modules[::-1]:
            seconds, loaded[module] = time_import(module)
            if i:  # round 0 warms the OS file cache
                times[module].append(seconds)
    med = {m: statistics.median(t) for m, t in times.items()}
    print(f"import time, median of {args.rounds} fresh interpreters (alternating order)")
    for m in modules:
        print(f"  import {m:<9} {med[m] * 1000:7.1f} ms   {loaded[m]:4d} modules in sys.modules")
    ratio = med["camhub"] / med["imagezmq"]
    print(
        f"  ratio camhub / imagezmq: {ratio:.2f}x (target <= 1.5x: {'met' if ratio <= 1.5 else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
