"""The sender's H.264 encoder, decoded back by FFmpeg: keyframes by the capture clock and
on request, parameter sets with every keyframe, pictures that look like the source."""

from __future__ import annotations

import numpy as np
import pytest

from camhub.types import VideoError
from camhub.video.encoder import H264Encoder
from camhub.video.packet import coded_size, h264_type, parameter_sets
from camhub.video.pictures import PictureDecoder
from tests.video.media import Scene


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255**2 / mse)


def test_keyframes_come_from_the_capture_clock_and_from_requests() -> None:
    scene, encoder = Scene(320, 240), H264Encoder(keyframe_interval=2.0)
    # 15 fps of capture time, no wall clock: frame i is taken at i/15 s.
    keys = []
    for i in range(75):
        if i == 10:
            encoder.request_keyframe("cam")
        packet = encoder.encode(scene.frame(i), 1000.0 + i / 15)
        keys.append(packet.keyframe)
    assert [i for i, key in enumerate(keys) if key] == [0, 10, 40, 70]
    assert encoder.keyframe_requests == 1 and encoder.keyframes == 4 and encoder.frames == 75


def test_every_keyframe_carries_its_parameter_sets_and_no_frame_is_held_back() -> None:
    scene, encoder = Scene(320, 240), H264Encoder(keyframe_interval=0.5)
    decoder = PictureDecoder()
    scores = []
    for i in range(20):
        image = scene.frame(i)
        packet = encoder.encode(image, 50.0 + i / 10)
        assert packet.codec == "h264" and packet.pts == round(i / 10 * 90_000)
        if packet.keyframe:
            assert [h264_type(u) for u in parameter_sets("h264", packet.data)] == [7, 8]
            assert coded_size("h264", packet.data) == (320, 240)
        else:
            assert not parameter_sets("h264", packet.data)
        picture = decoder.decode(packet)
        assert picture is not None, "zerolatency: each picture decodes from its own packet"
        scores.append(psnr(picture, image))
    assert min(scores) > 30, scores


def test_odd_sizes_are_cut_even_and_a_new_size_starts_with_a_keyframe() -> None:
    encoder = H264Encoder()
    first = encoder.encode(Scene(321, 241).frame(0), 1.0)
    same = encoder.encode(Scene(320, 240).frame(1), 1.1)
    smaller = encoder.encode(Scene(160, 120).frame(2), 1.2)
    assert coded_size("h264", first.data) == (320, 240) and not same.keyframe
    assert smaller.keyframe and coded_size("h264", smaller.data) == (160, 120)


def test_greyscale_pictures_encode() -> None:
    grey = Scene(160, 120).frame(3)[:, :, 1].copy()
    packet = H264Encoder().encode(grey, 1.0)
    picture = PictureDecoder().decode(packet)
    assert picture is not None and picture.shape == (120, 160, 3)


@pytest.mark.parametrize(
    ("image", "why"),
    [
        (np.zeros((120, 160, 3), np.float32), "8-bit"),
        (np.zeros((120, 160, 4), np.uint8), "4 channels"),
        (np.zeros((8, 8, 3), np.uint8), "too small"),
    ],
)
def test_pictures_libx264_cannot_take_are_refused(image: np.ndarray, why: str) -> None:
    with pytest.raises(VideoError, match=why):
        H264Encoder().encode(image, 1.0)


def test_a_picture_decoder_waits_for_a_keyframe_after_a_gap() -> None:
    scene, encoder = Scene(160, 120), H264Encoder(keyframe_interval=0.5)
    packets = [encoder.encode(scene.frame(i), i / 10) for i in range(12)]  # keys at 0, 5, 10
    decoder = PictureDecoder()
    got = [decoder.decode(p, gap=i == 2) is not None for i, p in enumerate(packets) if i != 1]
    assert got == [True, False, False, False, True, True, True, True, True, True, True]
    assert decoder.skipped == 3
