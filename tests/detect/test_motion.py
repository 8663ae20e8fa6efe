"""The motion gate on real photographs: where a person moves, nothing when still."""

from camhub.detect.motion import MotionGate
from camhub.jpeg import encode_jpeg
from camhub.types import Frame
from tests.detect.scene import Walker, background, cameraman, render


def jpeg_frame(image) -> Frame:  # type: ignore[no-untyped-def]
    return Frame("cam", jpeg=encode_jpeg(image), width=640, height=480)


def test_first_look_is_the_whole_frame_then_still_scenes_are_quiet() -> None:
    gate = MotionGate()
    bg = background()
    assert gate.check(jpeg_frame(bg)).region == (0, 0, 640, 480)
    for _ in range(5):
        result = gate.check(jpeg_frame(bg))
        assert result.region is None and result.fraction < 0.002


def test_the_region_covers_the_walking_person() -> None:
    gate = MotionGate()
    bg = background()
    walker = [Walker(cameraman(), 100, 300, 0.0, 1.0)]
    gate.check(jpeg_frame(bg))
    gate.check(jpeg_frame(bg))
    image, boxes = render(walker, 0.5, bg)
    result = gate.check(jpeg_frame(image))
    assert result.region is not None
    rx, ry, rw, rh = result.region
    x, y, w, h = boxes[0]  # type: ignore[misc]
    assert rx <= x and ry <= y and rx + rw >= x + w and ry + rh >= y + h
    assert rw * rh < 0.6 * 640 * 480  # a region, not the whole picture


def test_raw_frames_work_too() -> None:
    gate = MotionGate()
    bg = background()
    gate.check(Frame("cam", array=bg))
    image, _ = render([Walker(cameraman(), 300, 300, 0.0, 1.0)], 0.5, bg)
    assert gate.check(Frame("cam", array=image)).region is not None
