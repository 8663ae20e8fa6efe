"""A look as it travels to a Ray actor: the encoded frame and the region; the actor crops.

* A frame that arrived as JPEG travels as the very bytes the camera sent, with the region:
  the hub neither decodes nor encodes it. The actor decodes, crops and fits it to its
  model.
* A frame with no JPEG (a raw array, a decoded video frame) travels as a JPEG of the
  region only, shrunk first to at most the model's input size (the actor would shrink it
  to that anyway): at quality 90 a 416x312 crop is 20-40 KB, where the raw crop would be
  up to 390 KB. ``cropped`` tells the actor the picture is the region already.

Either way the actor maps what it found back to frame pixels itself, with the same
:class:`~camhub.detect.job.Placement` the local pool uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from camhub.detect.base import Detector, ModelInput
from camhub.detect.job import (
    NoPicture,
    Placement,
    Prepared,
    Region,
    clip_region,
    fit_region,
    frame_size,
    picture,
)
from camhub.types import Frame

JPEG_QUALITY = 90
"""For the crops the hub has to encode (frames that came without a JPEG)."""


@dataclass(frozen=True, slots=True)
class RemoteLook(Prepared):
    jpeg: bytes
    """The camera's own JPEG of the whole frame, or (``cropped``) a JPEG of the region."""
    region: Region
    """In frame pixels."""
    frame_size: tuple[int, int]
    cropped: bool = False


def remote_look(frame: Frame, region: Region | None, input_size: tuple[int, int]) -> RemoteLook:
    """The look at ``region`` (``None``: all) of ``frame`` as it goes to an actor.

    Raises :class:`~camhub.detect.job.NoPicture` for a frame with no picture form."""
    size = frame_size(frame)
    if frame.jpeg is not None and size is not None:
        return RemoteLook(frame.jpeg, clip_region(region, size), size)
    import cv2

    from camhub.jpeg import JpegError, encode_jpeg

    image = picture(frame)
    h, w = image.shape[:2]
    x, y, rw, rh = where = clip_region(region, (w, h))
    crop = image[y : y + rh, x : x + rw]
    tw, th = input_size
    scale = min(1.0, tw / rw, th / rh) if tw and th else 1.0
    if scale < 1.0:
        small = (max(1, round(rw * scale)), max(1, round(rh * scale)))
        crop = np.asarray(cv2.resize(crop, small, interpolation=cv2.INTER_AREA), np.uint8)
    try:
        jpeg = encode_jpeg(np.ascontiguousarray(crop), quality=JPEG_QUALITY)
    except JpegError as e:
        raise NoPicture(f"camera {frame.name!r}: {e}") from e
    return RemoteLook(jpeg, where, (w, h), cropped=True)


def open_look(look: RemoteLook, detector: Detector) -> tuple[ModelInput, Placement]:
    """On the actor: decode, crop (unless the hub did) and fit to the detector's input."""
    from camhub.jpeg import decode_jpeg

    image = decode_jpeg(look.jpeg)
    region = look.region
    if not look.cropped:
        h, w = image.shape[:2]
        region = clip_region(region, (w, h))
    return fit_region(image, region, detector.input_size, detector.fill, cropped=look.cropped)
