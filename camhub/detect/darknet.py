"""The built-in detector: YOLOv3-tiny (80 COCO classes) run by OpenCV's Darknet reader.

Small and fast enough for a 2-core CPU (about 30-40 ms per 416x416 image), at the cost of
accuracy: it misses small or partly hidden people that a YOLOv8 export would find. Point
``--model`` at an ONNX export for better accuracy (``camhub.detect.onnx``).
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
    Box,
    Detector,
    DetectorError,
    letterbox,
    nms,
    register,
    to_boxes,
)
from camhub.detect.labels import canonical
from camhub.detect.models import default_model_files
from camhub.types import Image


def read_labels(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DetectorError(f"cannot read labels file {path}: {e}") from e
    labels = [line.strip() for line in lines if line.strip()]
    if not labels:
        raise DetectorError(f"labels file {path} is empty (expected one label per line)")
    return labels


def _clip(xywh: npt.NDArray[np.float32], w: int, h: int) -> npt.NDArray[np.float32]:
    x2 = np.clip(xywh[:, 0] + xywh[:, 2], 0, w)
    y2 = np.clip(xywh[:, 1] + xywh[:, 3], 0, h)
    xywh[:, 0] = np.clip(xywh[:, 0], 0, w)
    xywh[:, 1] = np.clip(xywh[:, 1], 0, h)
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

    def detect(self, images: Sequence[Image]) -> list[list[Box]]:
        if self._net is None:
            self.load()
        net = self._net
        assert net is not None
        results = []
        for image in images:
            passes = [self._pass(image, 1.0)]
            # Only when the full-size pass found nothing: a frame-filling close-up is then
            # the likely miss, and scenes with objects pay for one pass, not two.
            if self.zoom_out and len(passes[0][0]) == 0:
                # The zoomed-out pass sees small things at half resolution and invents
                # parts of people; keep from it only the large objects it exists for.
                h, w = image.shape[:2]
                xywh, scores, class_ids = self._pass(image, 2.0)
                large = np.maximum(xywh[:, 2] / w, xywh[:, 3] / h) >= 0.6
                passes.append((xywh[large], scores[large], class_ids[large]))
            xywh = np.concatenate([p[0] for p in passes])
            scores = np.concatenate([p[1] for p in passes])
            class_ids = np.concatenate([p[2] for p in passes])
            idx = nms(xywh, scores, class_ids, self.iou_threshold)
            results.append(to_boxes(xywh[idx], scores[idx], class_ids[idx], self.labels))
        return results

    def _pass(
        self, image: Image, context: float
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        """One forward pass with the image shrunk to ``1/context`` of the model input.

        YOLOv3-tiny's largest anchor is about 340 px of 416, so an object that fills the
        frame (a close-up face, a cat in front of the lens) scores low at full size; the
        second, zoomed-out pass finds those, at the cost of one more inference."""
        import cv2

        net = self._net
        assert net is not None
        h, w = image.shape[:2]
        ox = oy = 0
        if context > 1.0:
            ch, cw = round(h * context), round(w * context)
            oy, ox = (ch - h) // 2, (cw - w) // 2
            canvas = np.full((ch, cw, 3), 127, dtype=np.uint8)
            canvas[oy : oy + h, ox : ox + w] = image
            image = canvas
        ih_, iw_ = image.shape[:2]
        padded, lb = letterbox(image, self.input_size, fill=127)
        blob = cv2.dnn.blobFromImage(padded, 1 / 255.0, swapRB=True)
        net.setInput(blob)  # type: ignore[attr-defined]
        rows = np.concatenate(net.forward(self._outputs))  # type: ignore[attr-defined]
        scores_all = rows[:, 5:]
        class_ids = scores_all.argmax(axis=1)
        scores = scores_all[np.arange(len(rows)), class_ids]
        keep = scores >= self.score_threshold
        rows, class_ids, scores = rows[keep], class_ids[keep], scores[keep]
        iw, ih = self.input_size
        xywh = np.stack(
            [
                (rows[:, 0] - rows[:, 2] / 2) * iw,
                (rows[:, 1] - rows[:, 3] / 2) * ih,
                rows[:, 2] * iw,
                rows[:, 3] * ih,
            ],
            axis=1,
        ).astype(np.float32)
        xywh = lb.to_image(xywh, iw_, ih_)
        xywh[:, 0] -= ox
        xywh[:, 1] -= oy
        xywh = _clip(xywh, w, h)
        return xywh, scores.astype(np.float32), class_ids.astype(np.int64)

    def close(self) -> None:
        self._net = None
