"""Object detection and tracking on every camera: see :class:`Detector` (the plugin
interface), ``camhub.detect.darknet`` (the built-in COCO default) and ``camhub.detect.onnx``
(your own YOLO export)."""

from camhub.detect import darknet as _darknet  # noqa: F401  (registers "darknet")
from camhub.detect import onnx as _onnx  # noqa: F401  (registers "onnx"; imports ORT lazily)
from camhub.detect.base import (
    Box,
    Detector,
    DetectorError,
    Letterbox,
    UnknownDetector,
    create_detector,
    detector_class,
    detector_types,
    iou_matrix,
    letterbox,
    nms,
    register,
)

__all__ = [
    "Box",
    "Detector",
    "DetectorError",
    "Letterbox",
    "UnknownDetector",
    "create_detector",
    "detector_class",
    "detector_types",
    "iou_matrix",
    "letterbox",
    "nms",
    "register",
]
