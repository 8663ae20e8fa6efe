"""The ``[detect]`` section of the config file: which objects, which model, and per-camera
zones and counting lines. Pure validation (no file is opened here; a missing model file
fails when the hub starts, naming it).

Example (TOML)::

    [detect]
    labels = ["person", "car", "dog"]
    detect_fps = 5
    # model = "yolov8n.onnx"        # default: the built-in YOLOv3-tiny (80 COCO classes)
    # labels_file = "coco.txt"      # default: from the model's metadata

    [detect.cameras.door]
    detect_fps = 8
    zones = [{ name = "porch", points = [[200, 300], [440, 300], [440, 480], [200, 480]], loiter_s = 30 }]
    lines = [{ name = "door", a = [320, 0], b = [320, 480] }]
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from camhub.detect.base import BackendConfig, detector_configs
from camhub.detect.labels import COCO_LABELS, resolve_all
from camhub.detect.scheduler import CameraSettings
from camhub.detect.spec import DetectorSpec
from camhub.detect.zones import Line, Zone, polygon

Coord = Annotated[float, Field(ge=0, le=100_000)]
PointList = Annotated[list[tuple[Coord, Coord]], Field(min_length=3, max_length=64)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ZoneConfig(_Section):
    """A polygon in frame pixels; an object is in it when the bottom centre of its box is."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,64}$", description="Zone name.")
    points: PointList = Field(description="Corners [[x, y], ...] in frame pixels.")
    labels: list[str] = Field(default_factory=list, description="Only these labels (empty: all).")
    loiter_s: float | None = Field(
        default=None, gt=0, le=86_400, description="Seconds in the zone that count as loitering."
    )


class LineConfig(_Section):
    """A counting line from ``a`` to ``b``: crossing it right-to-left (seen along a -> b)
    counts ``in``, the other way ``out``."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,64}$", description="Line name.")
    a: tuple[Coord, Coord] = Field(description="First end [x, y] in frame pixels.")
    b: tuple[Coord, Coord] = Field(description="Second end [x, y] in frame pixels.")
    labels: list[str] = Field(default_factory=list, description="Only these labels (empty: all).")

    @model_validator(mode="after")
    def _length(self) -> LineConfig:
        if self.a == self.b:
            raise ValueError("a line needs two different end points")
        return self


class CameraDetectConfig(_Section):
    detect_fps: float | None = Field(default=None, gt=0, le=60, description="Looks per second.")
    enabled: bool = Field(default=True, description="Detect on this camera.")
    zones: list[ZoneConfig] = Field(default_factory=list, max_length=64)
    lines: list[LineConfig] = Field(default_factory=list, max_length=64)


class DetectConfig(_Section):
    """Object detection and tracking on the hub."""

    enabled: bool = Field(default=True, description="Run object detection.")
    labels: list[str] = Field(
        default_factory=lambda: ["person"],
        description="Labels to track (model label names; empty: every label).",
    )
    model: str | None = Field(
        default=None, description="ONNX model file (default: the built-in YOLOv3-tiny)."
    )
    labels_file: str | None = Field(
        default=None, description="Labels, one per line (default: from the model)."
    )
    score: float = Field(default=0.3, gt=0, lt=1, description="Minimum detection score.")
    detect_fps: float = Field(default=5.0, gt=0, le=60, description="Looks per second per camera.")
    workers: int = Field(default=1, ge=1, le=64, description="Detector worker processes.")
    threads: int = Field(default=1, ge=1, le=64, description="Native threads per worker.")
    motion_gated: bool = Field(
        default=True, description="Run the detector only where something moves."
    )
    recheck_s: float = Field(
        default=5.0, gt=0, le=3600, description="Re-check still tracked objects this often."
    )
    job_timeout: float = Field(
        default=30.0, gt=0, le=3600, description="Restart a worker stuck this long on one job."
    )
    cameras: dict[str, CameraDetectConfig] = Field(
        default_factory=dict, description="Per-camera settings, zones and lines."
    )

    @model_validator(mode="after")
    def _known_labels(self) -> DetectConfig:
        # The built-in model's labels are known without loading it, so a misspelt one fails
        # here, at its line, before the hub starts. Another model's labels are checked when
        # it loads (ObjectDetection.start); old names (motorbike) are accepted by both.
        if self.model is None and self.labels_file is None:
            resolve_all(self.labels, COCO_LABELS, ("labels",))
            for name, cam in self.cameras.items():
                for i, zone in enumerate(cam.zones):
                    resolve_all(zone.labels, COCO_LABELS, ("cameras", name, "zones", i, "labels"))
                for i, line in enumerate(cam.lines):
                    resolve_all(line.labels, COCO_LABELS, ("cameras", name, "lines", i, "labels"))
        return self

    def backend(self) -> BackendConfig:
        """The backend config section the shorthand keys stand for: ``model`` names an
        ONNX export, none the built-in model. (A config layer with a ``type``-tagged union
        of :func:`~camhub.detect.base.detector_configs` replaces this.)"""
        fields: dict[str, object] = {"labels_file": self.labels_file, "score": self.score}
        if self.model is None:
            return detector_configs()["darknet"].model_validate(fields)
        return detector_configs()["onnx"].model_validate({"model": self.model, **fields})

    def spec(self) -> DetectorSpec:
        return DetectorSpec.of(self.backend(), threads=self.threads)

    def camera_settings(self) -> dict[str, CameraSettings]:
        out = {}
        for name, cam in self.cameras.items():
            out[name] = CameraSettings(
                detect_fps=cam.detect_fps or self.detect_fps,
                enabled=cam.enabled,
                zones=[
                    Zone(z.name, polygon(z.points), frozenset(z.labels), z.loiter_s)
                    for z in cam.zones
                ],
                lines=[Line(ln.name, ln.a, ln.b, frozenset(ln.labels)) for ln in cam.lines],
            )
        return out
