"""What a detector job is made of: a frame and the region of it to look at.

A *look* is one frame's region fitted to the model (:class:`Look`). Where it is fitted
depends on where the detector runs: the local pool fits it on the hub, once, at the model's
input size, and the worker reads it from shared memory; a Ray actor gets the camera's own
encoded frame and the region and fits it itself. Both then map what the detector found back
to frame pixels with the same :meth:`Placement.to_frame`.

Nothing here needs more than ``frame.jpeg`` (the bytes the camera sent) or ``frame.image``
(decoded pixels): a frame that has neither picture form raises :class:`NoPicture`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from camhub.detect.base import (
    Box,
    DetectorError,
    Found,
    Letterbox,
    ModelInput,
    letterbox,
    to_boxes,
)
from camhub.types import Frame, Image

Region = tuple[int, int, int, int]
"""``x, y, w, h`` in frame pixels."""


class NoPicture(DetectorError):
    """The frame has no picture form a detector can take (an opaque payload, a 1-D or
    float array, a JPEG that does not decode)."""


def frame_size(frame: Frame) -> tuple[int, int] | None:
    """``(width, height)`` without decoding: stamped by the sender, else from the JPEG
    header; ``None`` when the frame has no picture form."""
    if frame.width and frame.height:
        return int(frame.width), int(frame.height)
    if frame.jpeg is not None:
        from camhub.jpeg import JpegError, jpeg_size

        try:
            return jpeg_size(frame.jpeg)
        except JpegError:
            return None
    return None


def clip_region(region: Region | None, size: tuple[int, int]) -> Region:
    """``region`` clipped to a frame of ``size``; ``None`` or an empty region: all of it."""
    w, h = size
    if region is None or region[2] <= 0 or region[3] <= 0:
        return (0, 0, w, h)
    x, y, rw, rh = region
    x0, y0 = min(max(0, x), w - 1), min(max(0, y), h - 1)
    x1, y1 = min(w, max(x0 + 1, x + rw)), min(h, max(y0 + 1, y + rh))
    return (x0, y0, x1 - x0, y1 - y0)


def bgr(image: Image) -> npt.NDArray[np.uint8]:
    """A uint8 picture as 3-channel BGR; :class:`NoPicture` for anything else."""
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or min(image.shape[:2]) == 0:
        raise NoPicture(f"not a picture: {image.dtype} array shaped {image.shape}")
    u8: npt.NDArray[np.uint8] = np.asarray(image, dtype=np.uint8)
    if u8.ndim == 3 and u8.shape[2] == 3:
        return u8
    import cv2

    if u8.ndim == 2 or u8.shape[2] == 1:
        return np.asarray(cv2.cvtColor(u8.reshape(u8.shape[:2]), cv2.COLOR_GRAY2BGR), np.uint8)
    if u8.shape[2] == 4:
        return np.asarray(cv2.cvtColor(u8, cv2.COLOR_BGRA2BGR), dtype=np.uint8)
    raise NoPicture(f"not a picture: {u8.shape[2]} channels")


def picture(frame: Frame) -> npt.NDArray[np.uint8]:
    """The frame's pixels as BGR uint8 (decoded once and cached by the frame)."""
    try:
        image = frame.image
    except Exception as e:  # JpegError, an opaque payload
        raise NoPicture(f"camera {frame.name!r}: {e}") from e
    return bgr(image)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a model input's picture came from: ``region`` of the frame, as a picture of
    ``crop`` pixels (the region's own size, unless whoever sent the look shrank it), fitted
    into the model input by ``fit``."""

    region: Region
    crop: tuple[int, int]
    fit: Letterbox

    def to_frame(self, found: Found, labels: list[str]) -> list[Box]:
        """What the detector found, as boxes in frame pixels (inside ``region``)."""
        x, y, w, h = self.region
        cw, ch = self.crop
        xywh = self.fit.to_image(found.xywh, cw, ch)
        if (cw, ch) != (w, h):
            xywh[:, 0::2] *= w / cw
            xywh[:, 1::2] *= h / ch
        xywh[:, 0] += x
        xywh[:, 1] += y
        return to_boxes(xywh, found, labels)


class Prepared:
    """One look, ready for a pool in that pool's own form (made by ``pool.prepare``)."""

    __slots__ = ()
    region: Region
    frame_size: tuple[int, int]
    """``(width, height)`` of the whole frame."""

    @property
    def full(self) -> bool:
        """The look covers the whole frame."""
        return self.region == (0, 0, *self.frame_size)


@dataclass(frozen=True, slots=True)
class Look(Prepared):
    """One look fitted to the model on the hub, with where it came from."""

    input: ModelInput
    placement: Placement
    region: Region
    frame_size: tuple[int, int]


def fit_region(
    image: Image, region: Region, size: tuple[int, int], fill: int, *, cropped: bool = False
) -> tuple[ModelInput, Placement]:
    """Crop ``region`` out of ``image`` (unless ``cropped``: the image is that region
    already, maybe resized) and fit it into a model input of ``size``."""
    pixels = bgr(image)
    if not cropped:
        x, y, w, h = region
        pixels = pixels[y : y + h, x : x + w]
    fitted, fit = letterbox(pixels, size, fill=fill)
    crop = (int(pixels.shape[1]), int(pixels.shape[0]))
    return ModelInput(fitted, fit), Placement(region, crop, fit)


def look_at(frame: Frame, region: Region | None, size: tuple[int, int], fill: int) -> Look:
    """Decode (once), crop and fit: the local pool's look, made on the hub."""
    image = picture(frame)
    h, w = image.shape[:2]
    where = clip_region(region, (w, h))
    model_input, placement = fit_region(image, where, size, fill)
    return Look(model_input, placement, where, (w, h))
