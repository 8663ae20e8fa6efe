"""A look's geometry: crop, fit to the model, and boxes back in frame pixels."""

import numpy as np
import pytest

from camhub.detect import Found
from camhub.detect.job import NoPicture, clip_region, frame_size, look_at
from camhub.jpeg import encode_jpeg
from camhub.types import Frame


def lamp_frame(box: tuple[int, int, int, int], size: tuple[int, int] = (640, 480)) -> np.ndarray:
    w, h = size
    image = np.zeros((h, w, 3), np.uint8)
    x, y, bw, bh = box
    image[y : y + bh, x : x + bw] = 255
    return image


def found_where_white(pixels: np.ndarray) -> Found:
    ys, xs = np.nonzero(pixels.min(axis=2) >= 200)
    row = [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
    return Found(np.array([row], np.float32), np.ones(1, np.float32), np.zeros(1, np.int64))


@pytest.mark.parametrize(
    ("region", "full"),
    [(None, True), ((360, 260, 160, 120), False), ((0, 0, 0, 0), True)],
)
def test_a_look_is_fitted_once_and_maps_back_to_frame_pixels(
    region: tuple[int, int, int, int] | None, full: bool
) -> None:
    frame = Frame("cam", array=lamp_frame((400, 300, 60, 40)))
    look = look_at(frame, region, (320, 320), fill=0)
    assert look.input.pixels.shape == (320, 320, 3) and look.full is full
    assert look.frame_size == (640, 480)
    boxes = look.placement.to_frame(found_where_white(look.input.pixels), ["lamp"])
    assert len(boxes) == 1 and boxes[0].label == "lamp"
    x, y, w, h = boxes[0].xywh
    assert abs(x - 400) <= 2 and abs(y - 300) <= 2 and abs(w - 60) <= 3 and abs(h - 40) <= 3


def test_regions_are_clipped_to_the_frame() -> None:
    assert clip_region((600, 400, 100, 100), (640, 480)) == (600, 400, 40, 80)
    assert clip_region((-10, -10, 50, 50), (640, 480)) == (0, 0, 40, 40)
    assert clip_region(None, (640, 480)) == (0, 0, 640, 480)


def test_the_size_comes_from_the_jpeg_header_when_the_sender_stamped_none() -> None:
    frame = Frame("cam", jpeg=encode_jpeg(lamp_frame((0, 0, 8, 8), (320, 240))))
    assert frame_size(frame) == (320, 240)
    assert frame.array is None  # read from the header: nothing decoded


@pytest.mark.parametrize(
    "frame",
    [
        Frame("png", payload=b"\x89PNG\r\n\x1a\n" + bytes(64)),
        Frame("vector", array=np.arange(10, dtype=np.uint8)),
        Frame("floats", array=np.zeros((48, 64, 3))),
    ],
)
def test_a_frame_without_a_picture_form_is_refused(frame: Frame) -> None:
    with pytest.raises(NoPicture):
        look_at(frame, None, (320, 320), fill=0)


def test_grey_and_bgra_pictures_are_fitted_as_bgr() -> None:
    grey = Frame("g", array=lamp_frame((10, 10, 20, 20))[:, :, 0].copy())
    bgra = Frame(
        "a", array=np.dstack([lamp_frame((10, 10, 20, 20)), np.zeros((480, 640), np.uint8)])
    )
    for frame in (grey, bgra):
        assert look_at(frame, None, (320, 320), fill=0).input.pixels.shape == (320, 320, 3)
