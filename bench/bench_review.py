#!/usr/bin/env python3
"""The review page's event list with a long history (issue 18: "the events list stays
usable with 100,000 events, first page <= 200 ms").

Writes N events (default 100,000: 8 cameras, five labels, one event in seven in a zone,
one every 3 s, about 3.5 days) through the real :class:`~camhub.events.EventStore` into a
real SQLite file, then times, for each filter the review page offers, the first page
(50 events) and a page deep in the history (reached by following cursors), p50 over
repeats, and prints SQLite's plan for each. Baseline in the same run: the same first
page read with ``OFFSET`` paging at the same depth (what keyset paging replaces); the
ratio is keyset / offset.

    python bench/bench_review.py [--events 100000] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import machine_description, percentile, print_table, ratio  # noqa: E402
from camhub.events import Event, EventStore  # noqa: E402
from camhub.events.paging import Cursor, EventFilter  # noqa: E402

CAMERAS = [f"cam{i}" for i in range(8)]
LABELS = ["motion", "person", "car", "offline"]
PAGE = 50


def fill(store: EventStore, count: int, t0: float) -> float:
    began = time.perf_counter()
    for chunk in range(0, count, 5000):
        for i in range(chunk, min(count, chunk + 5000)):
            store.save(
                Event(
                    camera=CAMERAS[i % len(CAMERAS)],
                    label="dog" if i % 50 == 0 else LABELS[i % len(LABELS)],
                    start=t0 + i * 3.0,
                    end=t0 + i * 3.0 + 2.0,
                    score=0.5 + (i % 50) / 100,
                    zones=["porch"] if i % 7 == 0 else [],
                )
            )
        if not store.flush(120):
            raise SystemExit("the event store did not write its queue in 120 s")
    return time.perf_counter() - began


def timed(fn: object, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append((time.perf_counter() - began) * 1000)
    return percentile(times, 50)


def offset_page(store: EventStore, depth: int) -> None:
    conn = store._conn  # the baseline reads the same file the way an OFFSET list would
    with store._read_lock:
        conn.execute(
            "SELECT id FROM events ORDER BY start DESC, id DESC LIMIT ? OFFSET ?", (PAGE, depth)
        ).fetchall()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--quick", action="store_true", help="10,000 events, 5 repeats")
    args = ap.parse_args()
    count, repeats = (10_000, 5) if args.quick else (args.events, args.repeats)
    print(f"# review list: {count} events, {machine_description()}\n")
    with tempfile.TemporaryDirectory() as tmp:
        store = EventStore.open(Path(tmp))
        try:
            took = fill(store, count, 1.7e9)
            print(f"written in {took:.1f} s ({count / took:.0f} events/s)\n")
            filters = {
                "all": EventFilter(),
                "camera": EventFilter(camera="cam3"),
                "label (rare)": EventFilter(labels=["dog"]),
                "label + old name": EventFilter(labels=["person", "people"]),
                "zone": EventFilter(zone="porch"),
                "not reviewed": EventFilter(reviewed=False),
                "camera + label": EventFilter(camera="cam2", labels=["dog"]),
            }
            depth_pages = max(1, count // PAGE // 2)
            rows = []
            for name, flt in filters.items():
                first = timed(lambda f=flt: store.page(f, None, PAGE), repeats)
                cursor: Cursor | None = None
                pages = 0
                while pages < min(depth_pages, 40):  # follow cursors a way into the history
                    cursor = store.page(flt, cursor, PAGE).next
                    pages += 1
                    if cursor is None:
                        break
                deep = timed(lambda f=flt, c=cursor: store.page(f, c, PAGE), repeats)
                plan = "; ".join(store.explain_page(flt, cursor))
                rows.append((name, f"{first:.2f}", f"{deep:.2f}", plan))
            print_table(
                "first page and a later page (ms, p50)",
                ["filter", "first page", f"page {min(depth_pages, 40) + 1}", "SQLite plan"],
                rows,
            )
            depth = (count // 2) // PAGE * PAGE
            keyset = store.page(EventFilter(), None, depth + PAGE)  # the cursor at that depth
            mid = Cursor(keyset.events[depth - 1].start, keyset.events[depth - 1].id)
            k = timed(lambda: store.page(EventFilter(), mid, PAGE), repeats)
            o = timed(lambda: offset_page(store, depth), repeats)
            print_table(
                f"a page {depth} events deep (ms, p50)",
                ["keyset (camhub)", "OFFSET (baseline)", "keyset / offset"],
                [(f"{k:.2f}", f"{o:.2f}", ratio(k, o))],
            )
            facets = timed(store.facets, repeats)
            print(f"\nfilters (cameras, labels, zones, first/last): {facets:.2f} ms p50")
        finally:
            store.close()


if __name__ == "__main__":
    main()
