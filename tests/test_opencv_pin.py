"""The OpenCV pin (pyproject.toml): detection needs what OpenCV 5 removed."""

from __future__ import annotations

import tomllib
from pathlib import Path

import cv2

PYPROJECT = Path(__file__).parent.parent / "pyproject.toml"


def test_pyproject_caps_opencv_below_5() -> None:
    deps = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]
    (opencv,) = [d for d in deps if d.startswith("opencv-python-headless")]
    assert opencv.replace(" ", "") == "opencv-python-headless>=4.8,<5"


def test_installed_opencv_has_what_detection_uses() -> None:
    assert int(cv2.__version__.split(".")[0]) == 4
    assert callable(cv2.dnn.readNetFromDarknet)
    assert len(cv2.HOGDescriptor_getDefaultPeopleDetector()) > 0
    assert callable(cv2.CascadeClassifier)
