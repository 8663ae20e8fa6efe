"""Your own model: an ONNX export run by ONNX Runtime (``pip install camhub[onnx]``).

Output layouts camhub understands (``layout="auto"`` picks by shape):

==============  =====================  ==================================================
layout          output shape           rows
==============  =====================  ==================================================
``yolov8``      ``[B, 4+nc, N]``       cx, cy, w, h, one score per class (YOLOv8/v11)
``yolov5``      ``[B, N, 5+nc]``       cx, cy, w, h, objectness, class scores (v5/v7)
``end2end``     ``[K, 7]``             batch, x1, y1, x2, y2, class, score (NMS in model)
``nms``         ``[B, K, 6]``          x1, y1, x2, y2, score, class (NMS in model)
==============  =====================  ==================================================

Coordinates are in model-input pixels; camhub letterboxes the frame in (grey 114, as
Ultralytics does) and maps boxes back. For the first two layouts camhub does the NMS.
Labels come from a file (one per line) or from the model's ``names`` metadata (Ultralytics
exports carry it).

Config section (``type = "onnx"``): :class:`OnnxConfig`.
"""

from __future__ import annotations

import ast
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
from camhub.detect.darknet import read_labels

Layout = Literal["auto", "yolov8", "yolov5", "end2end", "nms"]
LAYOUTS_HELP = (
    "expected one output shaped [B, 4+classes, N] (YOLOv8/YOLO11), [B, N, 5+classes] "
    "(YOLOv5/v7), [K, 7] (NMS in model: batch, x1, y1, x2, y2, class, score) or "
    "[B, K, 6] (NMS in model: x1, y1, x2, y2, score, class)"
)

Array = npt.NDArray[np.float32]


def providers_available() -> list[str]:
    import onnxruntime as ort

    return list(ort.get_available_providers())


def choose_providers(requested: Sequence[str] | None) -> list[str]:
    """CUDA, then OpenVINO, when this ONNX Runtime build has them; always CPU last."""
    available = providers_available()
    if requested:
        missing = [p for p in requested if p not in available]
        if missing:
            raise DetectorError(
                f"ONNX Runtime has no {', '.join(missing)} here (available: {', '.join(available)})"
            )
        return list(requested)
    preferred = ["CUDAExecutionProvider", "OpenVINOExecutionProvider"]
    return [p for p in preferred if p in available] + ["CPUExecutionProvider"]


def labels_from_metadata(meta: dict[str, str]) -> list[str]:
    """Ultralytics writes ``names`` as a Python dict literal: ``{0: 'person', ...}``."""
    raw = meta.get("names")
    if not raw:
        return []
    try:
        names = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return []
    if isinstance(names, dict):
        return [str(names[k]) for k in sorted(names)]
    if isinstance(names, list):
        return [str(n) for n in names]
    return []


def guess_layout(shape: Sequence[int | str | None], n_labels: int) -> Layout | None:
    dims = [d if isinstance(d, int) else -1 for d in shape]
    if len(dims) == 2 and dims[1] == 7:
        return "end2end"
    if len(dims) != 3:
        return None
    _, a, c = dims
    if n_labels and a == 4 + n_labels and c != 6:
        return "yolov8"
    # NMS-in-model outputs keep at most a few hundred boxes; raw heads have thousands.
    if c == 6 and a <= 1000:
        return "nms"
    if n_labels:
        return "yolov5" if c == 5 + n_labels else None
    # Without labels: YOLOv8 exports are channels-first (few rows, thousands of anchors).
    if a > 4 and (c == -1 or c > a):
        return "yolov8"
    if c > 5 and a > c:
        return "yolov5"
    return None


class OnnxConfig(BackendConfig):
    """Your own ONNX export (YOLOv5/v7/v8/11, or one with NMS in the model)."""

    type: Literal["onnx"] = "onnx"
    model_suffixes: ClassVar[tuple[str, ...]] = (".onnx",)
    files: ClassVar[tuple[str, ...]] = ("model", "labels_file")
    model: str = Field(description="The .onnx file.")
    labels_file: str | None = Field(
        default=None, description="Labels, one per line (default: from the model's metadata)."
    )
    score: float = Field(default=0.3, gt=0, lt=1, description="Minimum detection score.")
    layout: Layout = Field(default="auto", description="Output layout (auto: by shape).")
    providers: list[str] | None = Field(
        default=None, description="ONNX Runtime execution providers (default: best first)."
    )
    input_size: int | None = Field(
        default=None, ge=32, le=4096, description="Input size, for models without a fixed one."
    )

    def options(self) -> dict[str, Any]:
        out = self.model_dump(exclude={"type", "labels_file", "score"}, exclude_none=True)
        out["score_threshold"] = self.score
        if self.labels_file is not None:
            out["labels"] = self.labels_file
        return out


@register
class OnnxDetector(Detector):
    type_name = "onnx"
    config = OnnxConfig

    def __init__(
        self,
        model: str | Path,
        labels: str | Path | Sequence[str] | None = None,
        *,
        layout: Layout = "auto",
        score_threshold: float = 0.3,
        iou_threshold: float = 0.45,
        providers: Sequence[str] | None = None,
        threads: int = 1,
        input_size: int | None = None,
    ) -> None:
        self.model = Path(model)
        if isinstance(labels, str | Path):
            self.labels = read_labels(Path(labels))
        else:
            self.labels = list(labels or [])
        self.layout: Layout = layout
        self.score_threshold = score_threshold
        self.iou_threshold = iou_threshold
        self.requested_providers = list(providers) if providers else None
        self.threads = threads
        self.input_size = (input_size or 640, input_size or 640)
        self.batch_size = 1
        self.providers: list[str] = []
        self._session: Any = None
        self._input_name = ""
        self._input_dtype: type[np.floating[Any]] = np.float32

    def load(self) -> None:
        import onnxruntime as ort

        if not self.model.is_file():
            raise DetectorError(f"model file {self.model} does not exist")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        providers = choose_providers(self.requested_providers)
        try:
            session = ort.InferenceSession(str(self.model), opts, providers=providers)
        except Exception as e:  # ORT raises its own untyped errors for bad files
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise DetectorError(
                f"{self.model} is not an ONNX model ONNX Runtime can load: {first}"
            ) from e
        inputs, outputs = session.get_inputs(), session.get_outputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 4:
            raise DetectorError(
                f"{self.model}: expected one image input shaped [B, 3, H, W], "
                f"got {[(i.name, i.shape) for i in inputs]}"
            )
        shape = inputs[0].shape
        if isinstance(shape[2], int) and isinstance(shape[3], int):
            self.input_size = (shape[3], shape[2])
        self.batch_size = shape[0] if isinstance(shape[0], int) else 4
        self._input_name = inputs[0].name
        self._input_dtype = np.float16 if inputs[0].type == "tensor(float16)" else np.float32
        if not self.labels:
            self.labels = labels_from_metadata(session.get_modelmeta().custom_metadata_map)
        out_shape = outputs[0].shape
        if self.layout == "auto":
            found = guess_layout(out_shape, len(self.labels))
            if found is None:
                raise DetectorError(
                    f"{self.model}: output {outputs[0].name} shaped {out_shape} is not a layout "
                    f"camhub understands; {LAYOUTS_HELP}"
                )
            self.layout = found
        if not self.labels:
            n = _classes_in(self.layout, out_shape)
            self.labels = [str(i) for i in range(n)] if n else []
        self.providers = list(session.get_providers())
        self._session = session

    def infer(self, inputs: Sequence[ModelInput]) -> list[Found]:
        if self._session is None:
            self.load()
        results: list[Found] = []
        step = max(1, self.batch_size)
        for start in range(0, len(inputs), step):
            results.extend(self._infer_batch(inputs[start : start + step]))
        return results

    def _infer_batch(self, inputs: Sequence[ModelInput]) -> list[Found]:
        # BGR HWC -> RGB CHW
        blob = np.stack([i.pixels for i in inputs])[..., ::-1].transpose(0, 3, 1, 2)
        blob = np.ascontiguousarray(blob, dtype=self._input_dtype) / self._input_dtype(255)
        fixed = self.batch_size if isinstance(self.batch_size, int) else 0
        n = len(inputs)
        if self._session.get_inputs()[0].shape[0] == fixed and n < fixed:
            blob = np.concatenate([blob, np.zeros((fixed - n, *blob.shape[1:]), blob.dtype)])
        out = np.asarray(self._session.run(None, {self._input_name: blob})[0], dtype=np.float32)
        results = []
        for i in range(n):
            xywh, scores, class_ids, done = self._decode(out, i)
            if not done:
                keep = nms(xywh, scores, class_ids, self.iou_threshold)
                xywh, scores, class_ids = xywh[keep], scores[keep], class_ids[keep]
            results.append(Found(xywh, scores, class_ids))
        return results

    def _decode(self, out: Array, i: int) -> tuple[Array, Array, npt.NDArray[np.int64], bool]:
        """Rows of image ``i`` as (x, y, w, h in input pixels, score, class, NMS done)."""
        if self.layout == "end2end":
            rows = out[out[:, 0] == i]
            xyxy, class_ids, scores, done = rows[:, 1:5], rows[:, 5], rows[:, 6], True
        elif self.layout == "nms":
            rows = out[i]
            xyxy, scores, class_ids, done = rows[:, :4], rows[:, 4], rows[:, 5], True
        else:
            if self.layout == "yolov8":
                rows = out[i].T
                cls = rows[:, 4:]
            else:
                rows = out[i]
                cls = rows[:, 5:] * rows[:, 4:5]
            class_ids = cls.argmax(axis=1)
            scores = cls[np.arange(len(rows)), class_ids]
            cxcywh = rows[:, :4]
            xyxy = np.concatenate(
                [cxcywh[:, :2] - cxcywh[:, 2:] / 2, cxcywh[:, :2] + cxcywh[:, 2:] / 2], axis=1
            )
            done = False
        keep = scores >= self.score_threshold
        xyxy, scores, class_ids = xyxy[keep], scores[keep], class_ids[keep]
        xywh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1).astype(np.float32)
        return xywh, scores.astype(np.float32), class_ids.astype(np.int64), done

    def close(self) -> None:
        self._session = None


def _classes_in(layout: Layout, shape: Sequence[int | str | None]) -> int:
    if layout == "yolov8" and isinstance(shape[1], int):
        return shape[1] - 4
    if layout == "yolov5" and isinstance(shape[2], int):
        return shape[2] - 5
    return 0
