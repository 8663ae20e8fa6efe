"""camhub's benchmarks: scripts that print figures, never assertions.

Run them from the repository root as modules, e.g. ``python -m bench.bench_transport``.
"""
