"""The tracker at the picture's edges and with slow looks, on scenes cut from real photos.

Time is fed explicitly (``at``): a look every 2.5 s is 2.5 s of scene time, not of wall clock.
"""

from collections.abc import Iterator

import pytest

from camhub.detect import Box
from camhub.detect.darknet import DarknetDetector
from camhub.detect.objects import CameraObjects
from camhub.detect.tracker import Track, Tracker, clip
from camhub.events.model import EventUpdate
from camhub.types import Frame
from tests.detect.scene import HEIGHT, WIDTH, Walker, astronaut, background, cameraman, render

SIZE = (WIDTH, HEIGHT)


class Recorder:
    def __init__(self) -> None:
        self.updates: list[EventUpdate] = []

    def __call__(self, message: object) -> None:
        assert isinstance(message, EventUpdate)
        self.updates.append(message)

    def of(self, kind: str) -> list[EventUpdate]:
        return [u for u in self.updates if u.type == kind]


@pytest.fixture(scope="module")
def detector() -> DarknetDetector:
    det = DarknetDetector()
    det.load()
    return det


def inside(box: object) -> bool:
    assert isinstance(box, (tuple, list)) and len(box) == 4
    x, y, w, h = (int(v) for v in box)
    return x >= 0 and y >= 0 and w >= 1 and h >= 1 and x + w <= WIDTH and y + h <= HEIGHT


Seen = list[tuple[int, tuple[int, int, int, int], bool]]
"""``(id, box, matched)`` of every confirmed track after every look (the overlay's boxes)."""


def snap(tracks: list[Track]) -> Seen:
    return [(t.id, t.int_box, t.matched) for t in tracks]


def every_box_inside(rec: Recorder, seen: Seen) -> list[object]:
    """The boxes that leave the picture: in events, snapshots, and tracks (the overlay)."""
    out: list[object] = []
    for u in rec.updates:
        for ev in (u.before, u.after):
            if ev is None:
                continue
            out += [b for b in (ev.box, ev.data.get("snapshot_box")) if b and not inside(b)]
    out += [box for _, box, _ in seen if not inside(box)]
    return out


# -- every box stays inside the picture -------------------------------------------------


@pytest.mark.parametrize("side", ["left", "right"])
def test_a_person_walking_out_of_the_picture_stays_inside_it(
    detector: DarknetDetector, side: str
) -> None:
    """The real detector on the photo scene, 5 looks/s: a person walks out at one side. The
    tracker's blend of prediction and measurement used to put the box's edge past the
    picture's, into events, snapshots and the overlay."""
    rec = Recorder()
    cam = CameraObjects("door", rec, labels=["person"])
    seen: Seen = []
    bg = background()
    if side == "right":
        walker = Walker(cameraman(), 300, WIDTH + 20, 0.0, 2.0)
    else:
        walker = Walker(astronaut(), 300, -180, 0.0, 2.0)
    for i in range(11):
        image, _ = render([walker], i / 5, bg)
        frame = Frame("door", array=image, received_at=1000.0 + i / 5)
        seen += snap(cam.update(frame, detector.detect([image])[0], at=frame.received_at))
    cam.close(2000.0)
    # (Near the edge YOLOv3-tiny also reports the cut-off half of the person as one more.)
    assert rec.of("new"), [u.type for u in rec.updates]
    assert every_box_inside(rec, seen) == []
    # It was followed up to the edge: its last sightings touch it.
    first = rec.of("new")[0].after.track_id
    followed = [box for tid, box, matched in seen if matched and tid == first]
    if side == "right":
        assert max(x + w for x, _, w, _ in followed) == WIDTH
    else:
        assert min(x for x, _, _, _ in followed) == 0


def moving(side: str, t: float) -> tuple[int, int, int, int]:
    """An object 160x120 that drives in across ``side``'s edge and out across the opposite
    one at 400 px/s, as an unclipped box (what a model that pads the frame can report)."""
    w, h = 160, 120
    if side in ("left", "right"):
        x = -w + 400 * t  # enters at the left, leaves at the right
        if side == "right":
            x = WIDTH - 400 * t
        return (round(x), 200, w, h)
    y = -h + 400 * t
    if side == "bottom":
        y = HEIGHT - 400 * t
    return (300, round(y), w, h)


@pytest.mark.parametrize("side", ["left", "right", "top", "bottom"])
def test_objects_entering_and_leaving_at_each_side_stay_inside(side: str) -> None:
    rec = Recorder()
    cam = CameraObjects("road", rec, labels=["car"])
    seen: Seen = []
    image = background()
    span = (WIDTH if side in ("left", "right") else HEIGHT) + 160
    for i in range(round(span / 400 * 10) + 6):
        t = i / 10
        frame = Frame("road", array=image, received_at=1000.0 + t)
        boxes = [Box(*moving(side, t), "car", 0.9, 2)]
        seen += snap(cam.update(frame, boxes, at=frame.received_at))
    for i in range(4):  # gone
        frame = Frame("road", array=image, received_at=1010.0 + i)
        cam.update(frame, [], at=frame.received_at)
    assert [u.type for u in rec.updates if u.type != "update"] == ["new", "end"]
    assert seen and every_box_inside(rec, seen) == []


def test_a_box_wider_and_taller_than_the_picture_is_cut_to_it() -> None:
    rec = Recorder()
    cam = CameraObjects("door", rec, tracker=Tracker(min_hits=1))
    frame = Frame("door", array=background(), received_at=1000.0)
    tracks = cam.update(frame, [Box(-50, -30, 800, 600, "bus", 0.9, 5)], at=1000.0)
    assert [t.int_box for t in tracks] == [(0, 0, WIDTH, HEIGHT)]
    new = rec.of("new")[0].after
    assert new.box == (0, 0, WIDTH, HEIGHT)
    assert new.data["snapshot_box"] == [0, 0, WIDTH, HEIGHT]


def test_a_detection_wholly_outside_the_picture_starts_nothing() -> None:
    tracker = Tracker(min_hits=1)
    live, _ = tracker.update([Box(700, 10, 50, 50, "car", 0.9, 2)], 0.0, size=SIZE)
    assert live == []


def test_clip_keeps_a_box_at_least_one_pixel_inside() -> None:
    assert clip((650.0, 10.0, 40.0, 40.0), SIZE) == (639.0, 10.0, 1.0, 40.0)
    assert clip((-10.0, -10.0, 700.0, 500.0), SIZE) == (0.0, 0.0, 640.0, 480.0)
    assert clip((1.0, 2.0, 3.0, 4.0), None) == (1.0, 2.0, 3.0, 4.0)


# -- slow looks -------------------------------------------------------------------------

CROSSING_S = 8.0
LOOK_EVERY = 2.5  # 0.4 looks per second


def crossing(person: str, direction: str) -> Walker:
    """A person crossing the whole 640-px frame, edge to edge, in 8 s."""
    image = astronaut() if person == "astronaut" else cameraman()
    w = image.shape[1]
    a, b = -w, WIDTH
    if direction == "leftward":
        a, b = b, a
    return Walker(image, a, b, 0.0, CROSSING_S)


def looks(walkers: list[Walker], phase: float) -> Iterator[Frame]:
    bg = background()
    t = phase
    while t <= CROSSING_S:
        image, _ = render(walkers, t, bg)
        yield Frame("door", array=image, received_at=1000.0 + t)
        t += LOOK_EVERY


@pytest.mark.parametrize("direction", ["rightward", "leftward"])
@pytest.mark.parametrize("person", ["astronaut", "cameraman"])
@pytest.mark.parametrize("phase", [0.0, 0.5, 1.0, 1.5, 2.0])
def test_a_person_crossing_in_8_s_is_confirmed_at_one_look_per_2_5_s(
    detector: DarknetDetector, person: str, direction: str, phase: float
) -> None:
    """The real detector at 0.4 looks/s: the person moves about their own width and a half
    between looks, so no box overlaps the last one; one event, one id all the way."""
    rec = Recorder()
    cam = CameraObjects("door", rec, labels=["person"])
    ids: set[int] = set()
    found = 0
    for frame in looks([crossing(person, direction)], phase):
        boxes = detector.detect([frame.image])[0]
        found += any(b.label == "person" and b.score >= 0.5 for b in boxes)
        ids |= {t.id for t in cam.update(frame, boxes, at=frame.received_at) if t.matched}
    cam.close(2000.0)
    assert found >= 2  # the scene gives the tracker two sightings to work with
    assert len(rec.of("new")) == 1, [u.type for u in rec.updates]
    assert len(ids) == 1
    assert rec.of("end")[0].after.track_id in ids


def test_a_missed_slow_look_does_not_lose_a_new_person(detector: DarknetDetector) -> None:
    """Seen, missed by the next look 2.5 s later, seen again: one person, confirmed."""
    walker = crossing("cameraman", "rightward")
    rec = Recorder()
    cam = CameraObjects("door", rec, labels=["person"])
    ids = set()
    for i, frame in enumerate(looks([walker], 1.5)):  # looks at 1.5, 4.0 and 6.5 s
        boxes = [] if i == 1 else detector.detect([frame.image])[0]
        ids |= {t.id for t in cam.update(frame, boxes, at=frame.received_at) if t.matched}
    assert len(rec.of("new")) == 1 and len(ids) == 1


def test_a_flicker_is_never_confirmed_and_goes_at_fast_or_slow_looks() -> None:
    for every in (0.1, LOOK_EVERY):
        tracker = Tracker()
        live, _ = tracker.update([Box(10, 10, 50, 100, "person", 0.9, 0)], 0.0, size=SIZE)
        assert [t.confirmed for t in live] == [False]
        for n in range(1, 4):
            live, ended = tracker.update([], n * every, size=SIZE)
            assert ended == [] and not any(t.confirmed for t in live)
            if not live:
                break
        # Three quick misses, or two slow ones (the second past the 4 s window).
        assert live == [] and n == (3 if every < 1 else 2)


def test_the_first_two_sightings_give_the_velocity() -> None:
    tracker = Tracker()
    tracker.update([Box(0, 200, 100, 200, "person", 0.9, 0)], 0.0, size=SIZE)
    (t,), _ = tracker.update([Box(200, 200, 100, 200, "person", 0.9, 0)], 2.5, size=SIZE)
    assert t.confirmed and t.velocity[:2] == (80.0, 0.0)
    # The next slow look is predicted where the person will be, so IoU matches it.
    assert t.predict(5.0)[0] == 400.0


def test_a_new_track_does_not_jump_to_a_far_detection_after_a_fast_look() -> None:
    """The distance match grows with the time since a track was seen: 0.1 s after a
    sighting, a person across the picture is someone else."""
    tracker = Tracker()
    tracker.update([Box(0, 200, 100, 200, "person", 0.9, 0)], 0.0, size=SIZE)
    live, _ = tracker.update([Box(400, 200, 100, 200, "person", 0.9, 0)], 0.1, size=SIZE)
    assert sorted(t.id for t in live) == [1, 2] and not any(t.confirmed for t in live)
