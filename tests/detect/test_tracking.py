"""Tracking, zones, line counts and object events on a generated scene of real photos."""

from collections.abc import Iterator

import numpy as np
import pytest

from camhub.bus import EventBus
from camhub.detect import Box
from camhub.detect.darknet import DarknetDetector
from camhub.detect.objects import CameraObjects, snapshot_quality
from camhub.detect.tracker import Tracker
from camhub.detect.zones import Line, Zone
from camhub.events.model import EventUpdate
from camhub.jpeg import decode_jpeg
from camhub.types import Frame
from tests.detect.scene import HEIGHT, WIDTH, Walker, astronaut, background, cameraman, render

DOOR = Line("door", (320, 0), (320, HEIGHT))  # vertical: left -> right walks count "in"


class Recorder:
    def __init__(self) -> None:
        self.updates: list[EventUpdate] = []

    def __call__(self, message: object) -> None:
        assert isinstance(message, EventUpdate)
        self.updates.append(message)

    def of(self, kind: str) -> list[EventUpdate]:
        return [u for u in self.updates if u.type == kind]


def crossing_walkers() -> list[Walker]:
    return [
        Walker(astronaut(), 10, 470, 0.0, 3.0),  # left to right
        Walker(cameraman(), 470, 10, 0.0, 3.0),  # right to left, in front
    ]


def frames(walkers: list[Walker], fps: float, until: float) -> Iterator[tuple[float, Frame, list]]:
    bg = background()
    for i in range(round(until * fps) + 1):
        t = i / fps
        image, boxes = render(walkers, t, bg)
        yield t, Frame("door", array=image, received_at=1000.0 + t), boxes


def gt(boxes: list, hide_rear_when_overlapping: bool = False) -> list[Box]:
    out = []
    present = [b for b in boxes if b is not None]
    for i, b in enumerate(boxes):
        if b is None:
            continue
        if hide_rear_when_overlapping and i == 0 and len(present) == 2:
            (ax, _, aw, _), (bx, _, bw, _) = present
            if abs((ax + aw / 2) - (bx + bw / 2)) < 60:
                continue  # the astronaut is behind the cameraman: a detector misses her
        out.append(Box(*b, "person", 0.9, 0))
    return out


@pytest.mark.parametrize("occluded", [False, True])
def test_two_people_crossing_keep_their_ids_and_the_door_counts_one_each_way(
    occluded: bool,
) -> None:
    rec = Recorder()
    door = Line("door", DOOR.a, DOOR.b)
    cam = CameraObjects("door", rec, lines=[door])
    ids_by_walker: list[set[int]] = [set(), set()]
    for t, frame, boxes in frames(crossing_walkers(), fps=10, until=3.0):
        tracks = cam.update(frame, gt(boxes, occluded), at=frame.received_at)
        for track in tracks:
            if not track.matched:
                continue
            tx = track.box[0] + track.box[2] / 2
            # Which walker is this track on? The nearest true box centre.
            dists = [abs(tx - (b[0] + b[2] / 2)) if b is not None else 1e9 for b in boxes]
            if min(dists) < 30 and sorted(dists)[1] > 60:  # unambiguous frames only
                ids_by_walker[int(np.argmin(dists))].add(track.id)
        del t
    cam.close(2000.0)
    assert [len(s) for s in ids_by_walker] == [1, 1]
    assert ids_by_walker[0] != ids_by_walker[1]
    assert door.counts == {"in": 1, "out": 1}
    assert len(rec.of("new")) == 2
    assert len(rec.of("end")) == 2
    crossed = {u.after.track_id: u.after.data["crossed"] for u in rec.of("end")}
    assert crossed[next(iter(ids_by_walker[0]))][0]["direction"] == "in"  # type: ignore[index]
    assert crossed[next(iter(ids_by_walker[1]))][0]["direction"] == "out"  # type: ignore[index]


def test_new_update_end_lifecycle_with_the_best_snapshot_not_cut_off() -> None:
    rec = Recorder()
    cam = CameraObjects("door", rec)
    walker = [Walker(astronaut(), -120, 300, 0.0, 2.0)]  # walks in from the left edge
    for _, frame, boxes in frames(walker, fps=10, until=2.0):
        cam.update(frame, gt(boxes), at=frame.received_at)
    # Gone: three looks at the whole picture find nothing.
    for i in range(3):
        empty = Frame("door", array=background(), received_at=1005.0 + i)
        cam.update(empty, [], at=empty.received_at)
    kinds = [u.type for u in rec.updates]
    assert kinds[0] == "new" and kinds[-1] == "end" and kinds.count("new") == 1
    end = rec.of("end")[0].after
    assert end.end is not None and end.end <= 1000.0 + 2.0
    assert end.label == "person" and end.track_id is not None
    snap_box = end.data["snapshot_box"]
    assert isinstance(snap_box, list) and snap_box[0] > 2  # not the frame cut at the edge
    assert end.snapshot is not None
    assert decode_jpeg(end.snapshot).shape == (HEIGHT, WIDTH, 3)


def test_zone_entering_leaving_and_loitering() -> None:
    rec = Recorder()
    porch = Zone("porch", ((200, 300), (440, 300), (440, HEIGHT), (200, HEIGHT)), loiter_s=1.0)
    cam = CameraObjects("door", rec, zones=[porch])
    # Walk in, stand on the porch for 2 s, walk off to the right.
    bg = background()
    path = []
    for i in range(60):
        t = i / 10
        path.append((t, 20 + 250 * t if t < 1 else (270 if t < 3 else 270 + 200 * (t - 3))))
    person = astronaut()
    for t, x in path:
        image, boxes = render([Walker(person, x, x, 0, 100)], t, bg)
        frame = Frame("door", array=image, received_at=1000.0 + t)
        cam.update(frame, gt(boxes), at=frame.received_at)
        if t == 2.0:
            assert cam.counts().zones == {"porch": 1}
    cam.close(2000.0)
    end = rec.of("end")[0].after
    assert [e["zone"] for e in end.data["entered"]] == ["porch"]  # type: ignore[union-attr]
    left = end.data["left"]
    assert isinstance(left, list) and left[0]["zone"] == "porch"
    assert 1.5 < left[0]["stayed_s"] < 4.0
    loiter_updates = [u for u in rec.of("update") if "porch" in u.after.data["loitering"]]  # type: ignore[operator]
    assert loiter_updates, "standing 2 s in a zone with loiter_s=1 must raise loitering"
    assert end.zones == []


def test_a_flicker_of_one_frame_is_not_an_object() -> None:
    rec = Recorder()
    cam = CameraObjects("door", rec, tracker=Tracker(min_hits=2))
    frame = Frame("door", array=background(), received_at=0.0)
    assert cam.update(frame, [Box(10, 10, 50, 100, "person", 0.9, 0)], at=0.0) == []
    for i in range(1, 4):  # a tentative track outlives a missed look or two, not three
        assert cam.update(frame, [], at=i / 10) == []
    assert cam.tracker.tracks == [] and rec.updates == []


def test_a_track_ends_only_after_looks_that_covered_it_missed_it() -> None:
    tracker = Tracker(min_hits=1, max_misses=3, max_age=1.0)
    tracker.update([Box(10, 10, 50, 100, "person", 0.9, 0)], 0.0)
    # Long still spell: no looks at all (nothing moved), then looks elsewhere.
    for i in range(5):
        live, ended = tracker.update([], 30.0 + i, region=(300, 0, 340, 480))
        assert [t.id for t in live] == [1] and ended == []
    # Looks that cover it: the third miss ends it.
    for i in range(3):
        live, ended = tracker.update([], 40.0 + i, region=(0, 0, 200, 200))
    assert live == [] and [t.id for t in ended] == [1]


def test_labels_never_share_a_track() -> None:
    tracker = Tracker(min_hits=1)
    tracker.update([Box(10, 10, 50, 100, "person", 0.9, 0)], 0.0)
    live, _ = tracker.update([Box(10, 10, 50, 100, "dog", 0.9, 16)], 0.1)
    assert sorted((t.label, t.id) for t in live) == [("dog", 2), ("person", 1)]


def test_snapshot_quality_penalises_boxes_cut_by_the_edge() -> None:
    assert snapshot_quality((0, 100, 50, 100), 0.9, 640, 480) < snapshot_quality(
        (100, 100, 50, 100), 0.9, 640, 480
    )


def test_line_crossing_needs_the_segment_not_just_the_infinite_line() -> None:
    line = Line("short", (100, 100), (100, 200))
    assert line.crossing((50, 150), (150, 150)) == "in"
    assert line.crossing((150, 150), (50, 150)) == "out"
    assert line.crossing((50, 300), (150, 300)) is None  # passes below its end
    assert line.crossing((50, 150), (80, 150)) is None


def test_the_real_detector_follows_one_person_across_the_door() -> None:
    """YOLOv3-tiny on the generated frames: one id, one `new`, the door counts one in."""
    detector = DarknetDetector()
    bus = EventBus()
    got: list[EventUpdate] = []
    sub = bus.subscribe(got.append, name="test", kinds=(EventUpdate,))
    door = Line("door", DOOR.a, DOOR.b)
    cam = CameraObjects("door", bus.publish, labels=["person"], lines=[door])
    ids: set[int] = set()
    walker = [Walker(cameraman(), 20, 460, 0.0, 3.0)]
    for _, frame, _boxes in frames(walker, fps=5, until=3.0):
        for track in cam.update(frame, detector.detect([frame.image])[0], at=frame.received_at):
            ids.add(track.id)
    cam.close(2000.0)
    assert sub.flush(5.0)
    sub.close()
    assert len(ids) == 1
    assert door.counts == {"in": 1, "out": 0}
    assert [u.type for u in got if u.type != "update"] == ["new", "end"]
    assert got[0].after.label == "person" and got[0].after.snapshot is not None


def test_the_real_detector_keeps_two_crossing_people_apart() -> None:
    """YOLOv3-tiny on the crossing scene (the cameraman hides the astronaut as they pass)."""
    detector = DarknetDetector()
    rec = Recorder()
    door = Line("door", DOOR.a, DOOR.b)
    cam = CameraObjects("door", rec, labels=["person"], lines=[door])
    ids_by_walker: list[set[int]] = [set(), set()]
    for _, frame, boxes in frames(crossing_walkers(), fps=5, until=3.0):
        for track in cam.update(frame, detector.detect([frame.image])[0], at=frame.received_at):
            if not track.matched:
                continue
            tx = track.box[0] + track.box[2] / 2
            dists = [abs(tx - (b[0] + b[2] / 2)) if b is not None else 1e9 for b in boxes]
            if min(dists) < 30 and sorted(dists)[1] > 60:
                ids_by_walker[int(np.argmin(dists))].add(track.id)
    cam.close(2000.0)
    assert [len(s) for s in ids_by_walker] == [1, 1]
    assert ids_by_walker[0] != ids_by_walker[1]
    assert door.counts == {"in": 1, "out": 1}
    assert [u.type for u in rec.updates if u.type != "update"].count("new") == 2
