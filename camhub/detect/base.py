"""What a detector is: model-size images in, boxes in model-input pixels out.

A detector states its ``labels``, the ``input_size`` it wants and the ``batch_size`` it
prefers; ``load()`` does the expensive part (reading the model) once per worker process,
``close()`` frees it. The hub fits each look into ``input_size`` once (crop, resize keeping
the aspect ratio, pad with the detector's ``fill`` grey: :func:`letterbox`) and hands the
detector :class:`ModelInput` s; ``infer`` returns a :class:`Found` per input, in input
pixels, and the caller maps them back to the frame. ``detect`` does all three on whole
images, for scripts and tests.

A backend is one module: a decorated class, and beside it the pydantic model of its config
section (a ``type`` literal naming it), which the class names as ``config``::

    class MineConfig(BackendConfig):
        type: Literal["mine"] = "mine"
        model: str

    @register
    class MyDetector(Detector):
        type_name = "mine"
        config = MineConfig
        ...

The shared geometry (letterbox resize, box mapping back to the frame, NMS) lives here so
every backend treats coordinates the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, get_args

import numpy as np
import numpy.typing as npt

from camhub.section import Section
from camhub.types import ArgumentError, CamhubError, Image


class DetectorError(CamhubError):
    """A detector could not be created or loaded (missing file, not a model, bad layout)."""


class UnknownDetector(DetectorError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True, slots=True)
class Box:
    """One object a detector found, in pixels of the image it was given."""

    x: int
    y: int
    w: int
    h: int
    label: str
    score: float
    class_id: int

    @property
    def xywh(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.w, self.h)

    def as_dict(self) -> dict[str, object]:
        return {
            "box": [self.x, self.y, self.w, self.h],
            "label": self.label,
            "score": round(self.score, 4),
            "class_id": self.class_id,
        }


@dataclass(frozen=True, slots=True)
class Found:
    """What a detector found in one model input: ``x, y, w, h`` rows in input pixels, a
    score and a class index per row."""

    xywh: npt.NDArray[np.float32]
    scores: npt.NDArray[np.float32]
    class_ids: npt.NDArray[np.int64]

    @classmethod
    def none(cls) -> Found:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))

    @classmethod
    def of_boxes(cls, boxes: Sequence[Box]) -> Found:
        if not boxes:
            return cls.none()
        return cls(
            np.array([b.xywh for b in boxes], np.float32).reshape(-1, 4),
            np.array([b.score for b in boxes], np.float32),
            np.array([b.class_id for b in boxes], np.int64),
        )

    def __len__(self) -> int:
        return len(self.scores)


@dataclass(frozen=True, slots=True)
class ModelInput:
    """One look fitted to the model: ``pixels`` is BGR uint8 shaped ``(h, w, 3)`` at the
    detector's ``input_size``; ``fit`` says where the picture sits in it."""

    pixels: npt.NDArray[np.uint8]
    fit: Letterbox

    @property
    def content(self) -> tuple[int, int, int, int]:
        """``x, y, w, h`` of the picture inside the padding, in input pixels."""
        h, w = self.pixels.shape[:2]
        px, py = self.fit.pad_x, self.fit.pad_y
        return (px, py, max(1, w - 2 * px), max(1, h - 2 * py))


class BackendConfig(Section):
    """Base of a detector backend's config section (``[detect.detector]``): a ``type``
    literal names the backend, the other fields are its options. ``options()`` turns them
    into constructor keywords."""

    type: str
    default: ClassVar[bool] = False
    """The backend used when the config names neither a detector nor a model."""
    model_suffixes: ClassVar[tuple[str, ...]] = ()
    """Model files it reads (``.onnx``): ``[detect] model = FILE`` picks it."""
    files: ClassVar[tuple[str, ...]] = ()
    """Fields that name files, checked to exist before the hub starts."""

    def options(self) -> dict[str, Any]:
        """Keyword arguments for the detector class (default: the fields as they are)."""
        return self.model_dump(exclude={"type"}, exclude_none=True)


class Detector:
    """Base class of object detectors. One instance lives in one worker process.

    Implement ``infer`` (model inputs, already fitted). A detector written before model
    inputs existed may implement ``detect`` on whole images instead; it then gets the
    fitted inputs as its images."""

    type_name: ClassVar[str] = ""
    """Registry key, e.g. ``"darknet"`` or ``"onnx"``."""
    config: ClassVar[type[BackendConfig] | None] = None
    """The backend's config section (its ``type`` literal is ``type_name``)."""

    labels: list[str]
    input_size: tuple[int, int]
    """``(width, height)`` the model sees."""
    batch_size: int = 1
    """How many images one ``infer`` call should get to be efficient."""
    fill: int = 114
    """Grey that pads a picture to ``input_size`` (what the model was trained with)."""
    threads: int = 1
    """Native threads the model may use (set from ``DetectorSpec.threads`` before load)."""

    def load(self) -> None:
        """Read the model; raise :class:`DetectorError` naming the file on failure."""

    def infer(self, inputs: Sequence[ModelInput]) -> list[Found]:
        """One :class:`Found` per input, in input pixels."""
        if type(self).detect is Detector.detect:
            raise NotImplementedError(f"{type(self).__name__} implements neither infer nor detect")
        boxes = self.detect([i.pixels for i in inputs])
        return [Found.of_boxes(b) for b in boxes]

    def detect(self, images: Sequence[Image]) -> list[list[Box]]:
        """Boxes per whole BGR image, in its pixels: fit, infer, map back."""
        if type(self).infer is Detector.infer:
            raise NotImplementedError(f"{type(self).__name__} implements neither infer nor detect")
        inputs = [fit_input(image, self) for image in images]
        out = []
        for image, given, found in zip(images, inputs, self.infer(inputs), strict=True):
            h, w = image.shape[:2]
            out.append(to_boxes(given.fit.to_image(found.xywh, w, h), found, self.labels))
        return out

    def warm_up(self) -> None:
        """One inference on a blank input, so that the first real look is not the slow one
        (lazy allocations, kernel choice): a pool takes calls only after this."""
        w, h = self.input_size
        blank = np.full((h, w, 3), self.fill, np.uint8)
        self.infer([ModelInput(blank, Letterbox(1.0, 0, 0))])

    def close(self) -> None:
        """Free the model (called once, when the worker stops)."""


DetectorFactory = Callable[..., Detector]

_REGISTRY: dict[str, type[Detector]] = {}


def register(cls: type[Detector]) -> type[Detector]:
    """Class decorator: make ``cls`` available by its ``type_name``."""
    if not cls.type_name or not cls.type_name.isidentifier():
        raise ArgumentError(f"{cls.__name__}.type_name must be a short identifier")
    config = _own_config(cls)
    if config is not None:
        named = get_args(config.model_fields["type"].annotation)
        if named != (cls.type_name,):
            raise ArgumentError(
                f"{config.__name__}.type must be Literal[{cls.type_name!r}], got {named}"
            )
    _REGISTRY[cls.type_name] = cls
    return cls


def _own_config(cls: type[Detector]) -> type[BackendConfig] | None:
    """The config section ``cls`` declares itself (a subclass does not inherit its base's:
    that one names the base's type)."""
    config: type[BackendConfig] | None = cls.__dict__.get("config")
    return config


def detector_types() -> list[str]:
    return sorted(_REGISTRY)


def detector_configs() -> dict[str, type[BackendConfig]]:
    """Each registered backend's config section by type name (for a tagged union)."""
    out = {}
    for name, cls in sorted(_REGISTRY.items()):
        config = _own_config(cls)
        if config is not None:
            out[name] = config
    return out


def detector_class(type_name: str) -> type[Detector]:
    try:
        return _REGISTRY[type_name]
    except KeyError:
        known = ", ".join(detector_types()) or "none"
        raise UnknownDetector(f"unknown detector {type_name!r} (known: {known})") from None


def create_detector(type_name: str, **options: Any) -> Detector:
    return detector_class(type_name)(**options)


@dataclass(frozen=True, slots=True)
class Letterbox:
    """How an image was fitted into the model input: scale, then padding on each side."""

    scale: float
    pad_x: int
    pad_y: int

    def to_image(
        self, boxes: npt.NDArray[np.float32], width: int, height: int
    ) -> npt.NDArray[np.float32]:
        """Map ``x, y, w, h`` rows from model-input pixels back to image pixels (clipped)."""
        out = boxes.astype(np.float32, copy=True)
        out[:, 0] = (out[:, 0] - self.pad_x) / self.scale
        out[:, 1] = (out[:, 1] - self.pad_y) / self.scale
        out[:, 2] /= self.scale
        out[:, 3] /= self.scale
        x2 = np.clip(out[:, 0] + out[:, 2], 0, width)
        y2 = np.clip(out[:, 1] + out[:, 3], 0, height)
        out[:, 0] = np.clip(out[:, 0], 0, width)
        out[:, 1] = np.clip(out[:, 1], 0, height)
        out[:, 2] = x2 - out[:, 0]
        out[:, 3] = y2 - out[:, 1]
        return out


def letterbox(
    image: Image, size: tuple[int, int], fill: int = 114
) -> tuple[npt.NDArray[np.uint8], Letterbox]:
    """Resize keeping the aspect ratio and pad to ``size`` (width, height), centred, as
    YOLO models are trained; returns the padded image and how to map boxes back."""
    import cv2

    tw, th = size
    h, w = image.shape[:2]
    if h == 0 or w == 0:
        raise ArgumentError("cannot letterbox an empty image")
    scale = min(tw / w, th / h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    resized = cv2.resize(
        np.asarray(image, dtype=np.uint8), (nw, nh), interpolation=cv2.INTER_LINEAR
    )
    pad_x, pad_y = (tw - nw) // 2, (th - nh) // 2
    out = np.full((th, tw, 3), fill, dtype=np.uint8)
    out[pad_y : pad_y + nh, pad_x : pad_x + nw] = resized
    return out, Letterbox(scale, pad_x, pad_y)


def fit_input(image: Image, detector: Detector) -> ModelInput:
    """A BGR image fitted to the detector's input (the hub does this once per look)."""
    pixels, fit = letterbox(image, detector.input_size, fill=detector.fill)
    return ModelInput(pixels, fit)


def iou_matrix(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Intersection over union of every ``x, y, w, h`` row of ``a`` with every row of ``b``."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.float32)
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(
        np.minimum(ax2[:, None], bx2[None]) - np.maximum(a[:, 0:1], b[None, :, 0]), 0, None
    )
    ih = np.clip(
        np.minimum(ay2[:, None], by2[None]) - np.maximum(a[:, 1:2], b[None, :, 1]), 0, None
    )
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0).astype(np.float32)


def nms(
    boxes: npt.NDArray[np.float32],
    scores: npt.NDArray[np.float32],
    class_ids: npt.NDArray[np.int64] | None = None,
    iou_threshold: float = 0.45,
) -> npt.NDArray[np.int64]:
    """Greedy non-maximum suppression over ``x, y, w, h`` rows; indexes kept, best first.

    With ``class_ids``, boxes of different classes never suppress each other (a person on
    a bicycle keeps both boxes)."""
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    work = boxes.astype(np.float32, copy=True)
    if class_ids is not None:
        # Shift each class far apart so one pass keeps classes independent.
        offset = class_ids.astype(np.float32) * (
            float(work[:, :2].max()) + float(work[:, 2:].max()) + 1.0
        )
        work[:, 0] += offset
        work[:, 1] += offset
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while len(order):
        i = int(order[0])
        keep.append(i)
        if len(order) == 1:
            break
        ious = iou_matrix(work[i : i + 1], work[order[1:]])[0]
        order = order[1:][ious <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def to_boxes(xywh: npt.NDArray[np.float32], found: Found, labels: Sequence[str]) -> list[Box]:
    """Boxes from ``found``'s scores and classes at ``xywh`` (its rows, mapped to the
    picture); rows less than a pixel wide or high are dropped."""
    out = []
    for (x, y, w, h), s, c in zip(xywh, found.scores, found.class_ids, strict=True):
        if w < 1 or h < 1:
            continue
        c = int(c)
        label = labels[c] if 0 <= c < len(labels) else str(c)
        out.append(Box(round(x), round(y), round(w), round(h), label, float(s), c))
    return out
