"""Per-camera bookkeeping: rates that tell the truth once frames stop."""

from __future__ import annotations

import pytest

from camhub.camera_state import CameraState, RateMeter
from camhub.types import Frame


def _feed(meter: RateMeter, start: float, seconds: float, fps: float, nbytes: int) -> float:
    t = start
    for _ in range(round(seconds * fps)):
        meter.add(nbytes, now=t)
        t += 1 / fps
    return t


def test_steady_rate_is_measured() -> None:
    meter = RateMeter(now=1000.0)
    end = _feed(meter, 1000.0, 5.0, fps=10, nbytes=2000)
    fps, bps = meter.read(now=end)
    assert fps == pytest.approx(10, rel=0.1)
    assert bps == pytest.approx(20_000, rel=0.1)


def test_rate_falls_to_zero_within_the_window_once_frames_stop() -> None:
    meter = RateMeter(now=1000.0)
    end = _feed(meter, 1000.0, 5.0, fps=10, nbytes=2000)
    halfway, _ = meter.read(now=end + RateMeter.WINDOW / 2)
    assert 0 < halfway < 10
    assert meter.read(now=end + RateMeter.WINDOW + 0.01) == (0.0, 0.0)
    # ...and stays 0 however long the camera is away (the old meter said 1.2 fps at 25 s).
    assert meter.read(now=end + 25.0) == (0.0, 0.0)


def test_young_camera_is_not_averaged_over_time_before_it_existed() -> None:
    meter = RateMeter(now=1000.0)
    end = _feed(meter, 1000.0, 0.5, fps=20, nbytes=100)
    fps, _ = meter.read(now=end)
    assert fps == pytest.approx(20, rel=0.15)


def test_meter_survives_a_gap_and_measures_again() -> None:
    meter = RateMeter(now=0.0)
    end = _feed(meter, 0.0, 3.0, fps=30, nbytes=10)
    end = _feed(meter, end + 60.0, 3.0, fps=5, nbytes=10)
    fps, _ = meter.read(now=end)
    assert fps == pytest.approx(5, rel=0.15)


def test_offline_camera_reports_zero_fps_and_bandwidth() -> None:
    state = CameraState("phone")
    for _ in range(5):
        state.update(Frame(name="phone", jpeg=b"\xff\xd8" + b"x" * 500), "127.0.0.1")
    assert state.snapshot(0.0).fps > 0
    state.online = False  # what the hub's offline check does
    snap = state.snapshot(0.0)
    assert (snap.fps, snap.kbps) == (0.0, 0.0)
    assert snap.frames == 5  # totals are history and stay
