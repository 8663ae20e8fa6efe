"""The built-in detector: YOLOv3-tiny (80 COCO classes) run by OpenCV's Darknet reader.

Small and fast enough for a 2-core CPU (about 30-40 ms per 416x416 image), at the cost of
accuracy: it misses small or partly hidden people that a YOLOv8 export would find. Point
``--model`` at an ONNX export for better accuracy (``camhub.detect.onnx``).

Config section (``type = "darknet"``): :class:`DarknetConfig`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field

from camhub.detect.base import (
    BackendConfig,
    Detector,
    DetectorError,
    Found,
    ModelInput,
    nms,
    register,
)
from camhub.detect.labels import canonical
from camhub.detect.models import default_model_files

Rows = tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.int64]]


def read_labels(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DetectorError(f"cannot read labels file {path}: {e}") from e
    labels = [line.strip() for line in lines if line.strip()]
    if not labels:
        raise DetectorError(f"labels file {path} is empty (expected one label per line)")
    return labels


def _clip(
    xywh: npt.NDArray[np.float32], area: tuple[int, int, int, int]
) -> npt.NDArray[np.float32]:
    """Rows clipped to ``area`` (``x, y, w, h``)."""
    ax, ay, aw, ah = area
    x2 = np.clip(xywh[:, 0] + xywh[:, 2], ax, ax + aw)
    y2 = np.clip(xywh[:, 1] + xywh[:, 3], ay, ay + ah)
    xywh[:, 0] = np.clip(xywh[:, 0], ax, ax + aw)
    xywh[:, 1] = np.clip(xywh[:, 1], ay, ay + ah)
    xywh[:, 2] = x2 - xywh[:, 0]
    xywh[:, 3] = y2 - xywh[:, 1]
    return xywh


class DarknetConfig(BackendConfig):
    """The built-in YOLOv3-tiny, or another Darknet model (``cfg`` + ``weights``)."""

    type: Literal["darknet"] = "darknet"
    default: ClassVar[bool] = True
    files: ClassVar[tuple[str, ...]] = ("cfg", "weights", "labels_file")
    cfg: str | None = Field(default=None, description="Darknet .cfg (default: built-in).")
    weights: str | None = Field(default=None, description="Darknet .weights (default: built-in).")
    labels_file: str | None = Field(
        default=None, description="Labels, one per line (default: the built-in COCO names)."
    )
    score: float = Field(default=0.3, gt=0, lt=1, description="Minimum detection score.")
    input_size: int = Field(
        default=416, ge=32, le=2048, multiple_of=32, description="Model input, pixels."
    )
    zoom_out: bool = Field(
        default=True, description="A second, zoomed-out pass when the first finds nothing."
    )

    def options(self) -> dict[str, Any]:
        out = self.model_dump(exclude={"type", "labels_file", "score"}, exclude_none=True)
        out["score_threshold"] = self.score
        if self.labels_file is not None:
            out["labels"] = self.labels_file
        return out


@register
class DarknetDetector(Detector):
    type_name = "darknet"
    config = DarknetConfig
    fill = 127

    def __init__(
        self,
        cfg: str | Path | None = None,
        weights: str | Path | None = None,
        labels: str | Path | None = None,
        *,
        input_size: int = 416,
        score_threshold: float = 0.3,
        iou_threshold: float = 0.45,
        zoom_out: bool = True,
    ) -> None:
        builtin_labels = False
        if cfg is None or weights is None:
            files = default_model_files()
            cfg, weights = files["yolov3-tiny.cfg"], files["yolov3-tiny.weights"]
            builtin_labels = labels is None
            labels = labels or files["coco.names"]
        if input_size % 32:
            raise DetectorError(f"input_size must be a multiple of 32, got {input_size}")
        self.cfg, self.weights = Path(cfg), Path(weights)
        self.labels = read_labels(Path(labels)) if labels else []
        if builtin_labels:  # Darknet's coco.names spells six classes the old way
            self.labels = [canonical(x) for x in self.labels]
        self.input_size = (input_size, input_size)
        self.batch_size = 1
        self.score_threshold = score_threshold
        self.iou_threshold = iou_threshold
        self.zoom_out = zoom_out
        self._net: object | None = None
        self._outputs: Sequence[str] = ()

    def load(self) -> None:
        import cv2

        for p in (self.cfg, self.weights):
            if not p.is_file():
                raise DetectorError(f"model file {p} does not exist")
        if not hasattr(cv2.dnn, "readNetFromDarknet"):
            raise DetectorError(
                f"OpenCV {cv2.__version__} has no Darknet reader (OpenCV 5 removed it); "
                "install opencv-python-headless<5"
            )
        try:
            net = cv2.dnn.readNetFromDarknet(str(self.cfg), str(self.weights))
        except cv2.error as e:
            raise DetectorError(
                f"{self.weights} with {self.cfg} is not a Darknet model OpenCV can read: "
                f"{str(e).strip().splitlines()[-1]}"
            ) from e
        net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
        self._outputs = list(net.getUnconnectedOutLayersNames())
        self._net = net
        if not self.labels:
            raise DetectorError(f"no labels for {self.weights} (pass a labels file)")

    def infer(self, inputs: Sequence[ModelInput]) -> list[Found]:
        if self._net is None:
            self.load()
        results = []
        for given in inputs:
            xywh, scores, class_ids = self._pass(given.pixels)
            passes = [(_clip(xywh, given.content), scores, class_ids)]
            # Only when the full-size pass found nothing: a frame-filling close-up is then
            # the likely miss, and scenes with objects pay for one pass, not two.
            if self.zoom_out and len(passes[0][0]) == 0:
                passes.append(self._zoomed_out(given))
            xywh = np.concatenate([p[0] for p in passes])
            scores = np.concatenate([p[1] for p in passes])
            class_ids = np.concatenate([p[2] for p in passes])
            idx = nms(xywh, scores, class_ids, self.iou_threshold)
            results.append(Found(xywh[idx], scores[idx], class_ids[idx]))
        return results

    def _zoomed_out(self, given: ModelInput) -> Rows:
        """The input shrunk to half its size in the middle of a grey canvas.

        YOLOv3-tiny's largest anchor is about 340 px of 416, so an object that fills the
        frame (a close-up face, a cat in front of the lens) scores low at full size; this
        pass finds those, at the cost of one more inference. It sees small things at half
        resolution and invents parts of people: keep from it only the large objects it
        exists for."""
        import cv2

        h, w = given.pixels.shape[:2]
        hw, hh = w // 2, h // 2
        ox, oy = (w - hw) // 2, (h - hh) // 2
        canvas = np.full_like(given.pixels, self.fill)
        canvas[oy : oy + hh, ox : ox + hw] = cv2.resize(
            given.pixels, (hw, hh), interpolation=cv2.INTER_AREA
        )
        xywh, scores, class_ids = self._pass(canvas)
        xywh[:, 0] = (xywh[:, 0] - ox) * (w / hw)
        xywh[:, 1] = (xywh[:, 1] - oy) * (h / hh)
        xywh[:, 2] *= w / hw
        xywh[:, 3] *= h / hh
        content = given.content
        xywh = _clip(xywh, content)
        large = np.maximum(xywh[:, 2] / content[2], xywh[:, 3] / content[3]) >= 0.6
        return xywh[large], scores[large], class_ids[large]

    def _pass(self, pixels: npt.NDArray[np.uint8]) -> Rows:
        """One forward pass over a model input; rows in input pixels."""
        import cv2

        net = self._net
        assert net is not None
        blob = cv2.dnn.blobFromImage(pixels, 1 / 255.0, swapRB=True)
        net.setInput(blob)  # type: ignore[attr-defined]
        rows = np.concatenate(net.forward(self._outputs))  # type: ignore[attr-defined]
        scores_all = rows[:, 5:]
        class_ids = scores_all.argmax(axis=1)
        scores = scores_all[np.arange(len(rows)), class_ids]
        keep = scores >= self.score_threshold
        rows, class_ids, scores = rows[keep], class_ids[keep], scores[keep]
        ih, iw = pixels.shape[:2]
        xywh = np.stack(
            [
                (rows[:, 0] - rows[:, 2] / 2) * iw,
                (rows[:, 1] - rows[:, 3] / 2) * ih,
                rows[:, 2] * iw,
                rows[:, 3] * ih,
            ],
            axis=1,
        ).astype(np.float32)
        return xywh.reshape(-1, 4), scores.astype(np.float32), class_ids.astype(np.int64)

    def close(self) -> None:
        self._net = None
