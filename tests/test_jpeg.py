from __future__ import annotations

import numpy as np
import pytest

from camhub import JpegError, decode_jpeg, encode_jpeg
from camhub.jpeg import jpeg_size


def test_round_trip_colour_and_grey(image: np.ndarray) -> None:
    data = encode_jpeg(image, quality=90)
    assert jpeg_size(data) == (640, 480)
    assert decode_jpeg(data).shape == (480, 640, 3)
    grey = encode_jpeg(image[:, :, 0])
    assert decode_jpeg(grey).shape == (480, 640)


def test_decode_bounds_refuse_jpeg_bombs(image: np.ndarray) -> None:
    data = encode_jpeg(image)
    with pytest.raises(JpegError, match="over the limit"):
        decode_jpeg(data, max_pixels=1000)


def test_bad_input() -> None:
    with pytest.raises(JpegError, match="not a JPEG"):
        decode_jpeg(b"hello")
    with pytest.raises(JpegError):
        decode_jpeg(b"\xff\xd8\xff\xe0" + b"\x00" * 50)
    with pytest.raises(ValueError, match="uint8"):
        encode_jpeg(np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match="quality"):
        encode_jpeg(np.zeros((4, 4), np.uint8), quality=0)
