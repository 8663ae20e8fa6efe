"""The ``[detect]`` section of the config file: which objects, which detector, and per-camera
zones and counting lines. Pure validation (no file is opened here; a missing model file
fails before the hub starts, naming it).

Each detector backend brings its own section (a :class:`~camhub.detect.base.BackendConfig`
with a ``type`` literal, named by the detector class's ``config``); ``[detect.detector]`` is
one of them, chosen by ``type`` from the detector registry, so a new backend needs no edit
here.

Example (TOML)::

    [detect]
    labels = ["person", "car", "dog"]
    detect_fps = 5
    # model = "yolov8n.onnx"        # default: the built-in YOLOv3-tiny (80 COCO classes)
    # labels_file = "coco.txt"      # default: from the model's metadata

    # or, naming the backend and its own options:
    # [detect.detector]
    # type = "onnx"
    # model = "yolov8n.onnx"
    # score = 0.4

    [detect.cameras.door]
    detect_fps = 8
    zones = [{ name = "porch", points = [[200, 300], [440, 300], [440, 480], [200, 480]], loiter_s = 30 }]
    lines = [{ name = "door", a = [320, 0], b = [320, 480] }]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Annotated

from pydantic import ConfigDict, Field, field_validator, model_validator

from camhub.detect.base import BackendConfig
from camhub.section import PluginUnion, Section, uses_plugins

if TYPE_CHECKING:
    from camhub.detect.pool import DetectorSpec
    from camhub.detect.scheduler import CameraSettings

Coord = Annotated[float, Field(ge=0, le=100_000)]
PointList = Annotated[list[tuple[Coord, Coord]], Field(min_length=3, max_length=64)]


class DetectorSections(PluginUnion):
    """One registered detector backend's section, chosen by ``type``."""

    @classmethod
    def members(cls) -> Sequence[type[Section]]:
        from camhub.detect.base import detector_configs

        return list(detector_configs().values())


def _reader(model: str) -> type[BackendConfig]:
    """The backend that reads this kind of model file."""
    from camhub.detect.base import detector_configs

    configs = detector_configs().values()
    suffix = PurePath(model).suffix.lower()
    chosen = next((c for c in configs if suffix in c.model_suffixes), None)
    if chosen is None:
        readers = sorted({x for c in configs for x in c.model_suffixes})
        raise ValueError(
            f"no detector reads {suffix or 'suffix-less'} model files "
            f"(known: {', '.join(readers) or 'none'})"
        )
    return chosen


def check_files(config: BackendConfig) -> None:
    """Before the hub starts: every file the backend's section names exists (read-only)."""
    from camhub.detect.base import DetectorError

    for key in config.files:
        path = getattr(config, key, None)
        if isinstance(path, str) and not Path(path).expanduser().is_file():
            raise DetectorError(f"{key.removesuffix('_file')} file {path} does not exist")


class ZoneConfig(Section):
    """A polygon in frame pixels; an object is in it when the bottom centre of its box is."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,64}$", description="Zone name.")
    points: PointList = Field(description="Corners [[x, y], ...] in frame pixels.")
    labels: list[str] = Field(default_factory=list, description="Only these labels (empty: all).")
    loiter_s: float | None = Field(
        default=None, gt=0, le=86_400, description="Seconds in the zone that count as loitering."
    )


class LineConfig(Section):
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


class CameraDetectConfig(Section):
    """One camera's detection settings (``[detect.cameras.NAME]``)."""

    detect_fps: float | None = Field(default=None, gt=0, le=60, description="Looks per second.")
    enabled: bool = Field(default=True, description="Detect on this camera.")
    zones: list[ZoneConfig] = Field(
        default_factory=list, max_length=64, description="Zones objects are counted in."
    )
    lines: list[LineConfig] = Field(
        default_factory=list, max_length=64, description="Lines whose crossings are counted."
    )


@uses_plugins
class DetectConfig(Section):
    """Object detection and tracking on the hub."""

    # Built on first use: the detector backends register while this module loads.
    model_config = ConfigDict(defer_build=True)

    enabled: bool = Field(default=True, description="Run object detection.")
    labels: list[str] = Field(
        default_factory=lambda: ["person"],
        description="Labels to track (model label names; empty: every label).",
    )
    detector: DetectorSections | None = Field(
        default=None,
        description="The detector backend and its options, chosen by type "
        "(default: from model, else the built-in YOLOv3-tiny).",
    )
    model: str | None = Field(
        default=None,
        description="Model file, short for [detect.detector] with the backend that reads "
        "this kind of file (default: the built-in YOLOv3-tiny).",
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

    @field_validator("model")
    @classmethod
    def _model(cls, value: str | None) -> str | None:
        if value is not None:
            _reader(value)
        return value

    @model_validator(mode="after")
    def _known_labels(self) -> DetectConfig:
        # The built-in model's labels are known without loading it, so a misspelt one fails
        # here, at its line, before the hub starts. Another model's labels are checked when
        # it loads (ObjectDetection.start); old names (motorbike) are accepted by both.
        if self.detector is None and self.model is None and self.labels_file is None:
            from camhub.detect.labels import COCO_LABELS, resolve_all

            resolve_all(self.labels, COCO_LABELS, ("labels",))
            for name, cam in self.cameras.items():
                for i, zone in enumerate(cam.zones):
                    resolve_all(zone.labels, COCO_LABELS, ("cameras", name, "zones", i, "labels"))
                for i, line in enumerate(cam.lines):
                    resolve_all(line.labels, COCO_LABELS, ("cameras", name, "lines", i, "labels"))
        return self

    @model_validator(mode="after")
    def _one_detector(self) -> DetectConfig:
        shorthand = {"model", "labels_file", "score"} & self.model_fields_set
        if self.detector is not None and shorthand:
            raise ValueError(
                f"give {', '.join(sorted(shorthand))} inside [detect.detector], or leave "
                "[detect.detector] out"
            )
        return self

    def backend(self) -> BackendConfig:
        """The detector section: ``[detect.detector]``, else the one that ``model``,
        ``labels_file`` and ``score`` stand for."""
        if self.detector is not None:
            assert isinstance(self.detector, BackendConfig)
            return self.detector
        if self.model is None:
            from camhub.detect.base import detector_configs

            chosen = next((c for c in detector_configs().values() if c.default), None)
            if chosen is None:
                raise ValueError("no default detector is registered: set model")
        else:
            chosen = _reader(self.model)
        given = {"model": self.model, "labels_file": self.labels_file, "score": self.score}
        fields = chosen.model_fields
        return chosen.model_validate(
            {k: v for k, v in given.items() if k in fields and v is not None}
        )

    def spec(self) -> DetectorSpec:
        from camhub.detect.pool import DetectorSpec

        backend = self.backend()
        return DetectorSpec(backend.type, backend.options(), threads=self.threads)

    def camera_settings(self) -> dict[str, CameraSettings]:
        from camhub.detect.scheduler import CameraSettings
        from camhub.detect.zones import Line, Zone, polygon

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
