"""Object detection and tracking on every camera: see :class:`Detector` (the plugin
interface), ``camhub.detect.darknet`` (the built-in COCO default) and ``camhub.detect.onnx``
(your own YOLO export). A backend is one module that registers itself; its config section
(:class:`BackendConfig`) sits beside it and :func:`detector_configs` lists them all."""

from camhub.detect import darknet as _darknet  # noqa: F401  (registers "darknet")
from camhub.detect import onnx as _onnx  # noqa: F401  (registers "onnx"; imports ORT lazily)
from camhub.detect.base import (
    BackendConfig,
    Box,
    Detector,
    DetectorError,
    Found,
    Letterbox,
    ModelInput,
    UnknownDetector,
    create_detector,
    detector_class,
    detector_configs,
    detector_types,
    fit_input,
    iou_matrix,
    letterbox,
    nms,
    register,
)
from camhub.detect.spec import DetectorSpec

__all__ = [
    "BackendConfig",
    "Box",
    "Detector",
    "DetectorError",
    "DetectorSpec",
    "Found",
    "Letterbox",
    "ModelInput",
    "UnknownDetector",
    "create_detector",
    "detector_class",
    "detector_configs",
    "detector_types",
    "fit_input",
    "iou_matrix",
    "letterbox",
    "nms",
    "register",
]
