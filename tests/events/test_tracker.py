"""EventTracker: per-frame presence becomes new/update/end, with debounce and gaps."""

from __future__ import annotations

import pytest

from camhub.events import EventTracker, EventUpdate


def _run(tracker: EventTracker, pattern: str, fps: float = 10.0, t0: float = 100.0) -> None:
    for i, ch in enumerate(pattern):
        tracker.observe(t0 + i / fps, ch == "x", score=0.1 * (i % 7), snapshot=b"jpeg%d" % i)


def test_flicker_shorter_than_min_frames_is_no_event() -> None:
    got: list[EventUpdate] = []
    tracker = EventTracker("cam", "motion", got.append, min_frames=3, end_after=1.0)
    _run(tracker, "..xx..x.x.xx....")
    assert got == []


def test_one_event_across_short_gaps_then_end_after_quiet() -> None:
    got: list[EventUpdate] = []
    tracker = EventTracker("cam", "motion", got.append, min_frames=2, end_after=0.5)
    # motion from frame 2, a 3-frame gap (0.3 s < 0.5 s), then quiet for 1 s
    _run(tracker, "..xxxxx...xxxx" + "." * 10)
    types = [u.type for u in got]
    assert types[0] == "new" and types[-1] == "end"
    assert types.count("new") == 1 and types.count("end") == 1
    new, end = got[0].after, got[-1].after
    assert new.id == end.id
    assert new.start == pytest.approx(100.2)  # the first frame of the streak, not the 2nd
    assert end.end == pytest.approx(100.0 + 13 / 10)  # last frame with motion
    assert end.snapshot is not None and end.top_score is not None
    assert got[-1].before is not None and got[-1].before.end is None


def test_best_snapshot_follows_top_score() -> None:
    got: list[EventUpdate] = []
    tracker = EventTracker("cam", "person", got.append, min_frames=1, end_after=5.0)
    for i, score in enumerate([0.2, 0.9, 0.5]):
        tracker.observe(float(i), True, score=score, box=(i, i, 5, 5), snapshot=b"s%d" % i)
    tracker.end()
    end = got[-1].after
    assert end.top_score == 0.9 and end.snapshot == b"s1" and end.box == (1, 1, 5, 5)
    assert end.score == 0.5


def test_long_silence_without_frames_ends_the_old_event_first() -> None:
    got: list[EventUpdate] = []
    tracker = EventTracker("cam", "motion", got.append, min_frames=1, end_after=2.0)
    tracker.observe(10.0, True)
    tracker.observe(60.0, True)  # the camera was offline in between
    assert [u.type for u in got] == ["new", "end", "new"]
    assert got[1].after.end == 10.0 and got[2].after.start == 60.0


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="min_frames"):
        EventTracker("cam", "x", print, min_frames=0)
    with pytest.raises(ValueError, match="end_after"):
        EventTracker("cam", "x", print, end_after=-1)


def test_tick_ends_the_event_when_frames_stop_coming() -> None:
    got: list[EventUpdate] = []
    tracker = EventTracker("cam", "motion", got.append, min_frames=1, end_after=2.0)
    tracker.observe(10.0, True)
    tracker.tick(11.0)  # not yet gone long enough
    assert [u.type for u in got] == ["new"]
    tracker.tick(12.5)
    assert [u.type for u in got] == ["new", "end"] and got[1].after.end == 10.0
    tracker.tick(20.0)  # nothing going on: nothing more
    assert len(got) == 2
