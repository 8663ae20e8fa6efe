"""Segment files: everything complete is readable, a torn tail is skipped, junk is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from camhub.record.segment import SegmentError, SegmentWriter, read_segment, scan_segment


def test_round_trip_and_time_range(tmp_path: Path) -> None:
    w = SegmentWriter(tmp_path / "a.cseg")
    for i in range(10):
        w.write(100.0 + i, b"\xff\xd8frame%d\xff\xd9" % i)
    w.close()
    got = list(read_segment(w.path))
    assert [t for t, _ in got] == [100.0 + i for i in range(10)]
    assert got[3][1] == b"\xff\xd8frame3\xff\xd9"
    assert [t for t, _ in read_segment(w.path, 102.0, 104.0)] == [102.0, 103.0, 104.0]
    scan = scan_segment(w.path)
    assert (scan.frames, scan.first, scan.last, scan.truncated) == (10, 100.0, 109.0, False)
    assert scan.size == w.path.stat().st_size


def test_torn_last_record_is_skipped(tmp_path: Path) -> None:
    w = SegmentWriter(tmp_path / "b.cseg")
    for i in range(5):
        w.write(float(i), b"x" * 1000)
    w.close()
    data = w.path.read_bytes()
    w.path.write_bytes(data[:-300])  # killed in the middle of the last frame
    assert len(list(read_segment(w.path))) == 4
    scan = scan_segment(w.path)
    assert scan.frames == 4 and scan.truncated and scan.last == 3.0


def test_not_a_segment(tmp_path: Path) -> None:
    junk = tmp_path / "junk.cseg"
    junk.write_bytes(b"GIF89a" + b"\0" * 100)
    with pytest.raises(SegmentError, match="not a camhub recording segment"):
        list(read_segment(junk))
    with pytest.raises(SegmentError, match="cannot read segment"):
        scan_segment(tmp_path / "missing.cseg")


def test_recovery_drops_the_row_of_a_segment_that_is_junk(tmp_path: Path) -> None:
    from camhub.record.index import SegmentIndex

    index = SegmentIndex.open(tmp_path)
    try:
        good = index.root / "cam" / "good.cseg"
        w = SegmentWriter(good)
        w.write(5.0, b"jpeg")
        w.close()
        index.add("cam", good, 5.0)  # both left open, as after a crash
        junk = index.root / "cam" / "junk.cseg"
        junk.write_bytes(b"\0" * 64)
        index.add("cam", junk, 9.0)
        assert index.recover() == 2
        segs = index.find("cam")
        assert [(s.path.name, s.frames, s.closed) for s in segs] == [("good.cseg", 1, True)]
    finally:
        index.close()
