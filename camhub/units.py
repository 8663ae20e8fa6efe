"""How camhub writes rates and times for people, the same in the terminal, the logs and
the dashboard: bytes per second in kB/s or MB/s (decimal), and a 24-hour clock."""

from __future__ import annotations

import time


def rate_text(bytes_per_s: float) -> str:
    """``"650 kB/s"``, ``"3.7 MB/s"``; below 1 kB/s in B/s."""
    if bytes_per_s >= 1e6:
        return f"{bytes_per_s / 1e6:.1f} MB/s"
    if bytes_per_s >= 1e3:
        return f"{bytes_per_s / 1e3:.0f} kB/s"
    return f"{bytes_per_s:.0f} B/s"


def clock_text(epoch: float) -> str:
    """Local wall-clock time, 24-hour: ``"22:10:51"``."""
    return time.strftime("%H:%M:%S", time.localtime(epoch))


def duration_text(seconds: float) -> str:
    """``"12 s"``, ``"3 min"``, ``"2.5 h"``: how long, for log lines."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
