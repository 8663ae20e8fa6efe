"""What to record, per camera, and how long to keep it.

The bounds of each setting are declared once, as the annotated types below; the fleet
file's ``[hub.record]`` section (:mod:`camhub.config`) uses the same types, and
:class:`RecordSettings` checks values built in Python against them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import annotated_types
from pydantic import Field

from camhub.types import CameraName, CamhubError

RecordMode = Literal["off", "events", "continuous"]
RECORD_MODES: tuple[RecordMode, ...] = ("off", "events", "continuous")

PreRoll = Annotated[float, Field(ge=0, le=300, description="Seconds kept before an event.")]
PostRoll = Annotated[float, Field(ge=0, le=300, description="Seconds kept after an event.")]
SegmentSeconds = Annotated[
    float, Field(ge=1, le=600, description="Length of one recording file (s).")
]
KeepDays = Annotated[
    float, Field(ge=0, le=36500, description="Delete recordings older than this (0: never).")
]
MaxGB = Annotated[
    float,
    Field(ge=0, le=1e6, description="Total size cap for all recordings, oldest first (0: none)."),
]
MinFreeGB = Annotated[
    float, Field(ge=0, le=1e6, description="Stop recording while the disk has less free space.")
]
PrerollMB = Annotated[
    float, Field(ge=1, le=1e5, description="Memory for all pre-roll buffers together (MB).")
]


class RecordSettingsError(CamhubError, ValueError):
    """A recording setting is out of range."""


def _bounds(kind: Any) -> tuple[float, float]:
    low, high = float("-inf"), float("inf")
    for meta in kind.__metadata__:
        for bound in getattr(meta, "metadata", ()):
            if isinstance(bound, annotated_types.Ge):
                low = float(bound.ge)  # type: ignore[arg-type]
            elif isinstance(bound, annotated_types.Le):
                high = float(bound.le)  # type: ignore[arg-type]
    return low, high


def _check(name: str, value: float, kind: Any, unit: str = "") -> None:
    low, high = _bounds(kind)
    if not low <= value <= high:
        raise RecordSettingsError(f"{name} must be {low:g}..{high:g}{unit}, got {value}")


@dataclass(frozen=True, slots=True)
class CameraRecording:
    """One camera's recording: ``events`` records from ``pre_roll`` seconds before an
    event starts until ``post_roll`` seconds after it ends."""

    mode: RecordMode = "off"
    pre_roll: float = 5.0
    post_roll: float = 5.0

    def __post_init__(self) -> None:
        if self.mode not in RECORD_MODES:
            raise RecordSettingsError(f"record must be one of {RECORD_MODES}, got {self.mode!r}")
        _check("pre_roll", self.pre_roll, PreRoll, " seconds")
        _check("post_roll", self.post_roll, PostRoll, " seconds")


@dataclass(frozen=True, slots=True)
class RecordSettings:
    """The recorder's settings: a default for every camera, per-camera overrides, and
    retention across all cameras (oldest segments go first)."""

    default: CameraRecording = CameraRecording()
    cameras: dict[CameraName, CameraRecording] = field(default_factory=dict)
    segment_seconds: float = 10.0
    """Length of one segment file: at most this much is at risk in a crash."""
    keep_days: float = 7.0
    """Delete recordings older than this (0: keep forever)."""
    max_gb: float = 0.0
    """Total size cap across cameras in GB (0: none)."""
    min_free_gb: float = 1.0
    """Stop recording (loudly) while the disk has less free space than this."""
    preroll_mb: float = 128.0
    """Total memory for every camera's pre-roll ring together."""
    event_labels: frozenset[str] | None = None
    """Labels that start an event recording (``None``: any but ``offline``)."""

    def __post_init__(self) -> None:
        _check("segment_seconds", self.segment_seconds, SegmentSeconds)
        _check("keep_days", self.keep_days, KeepDays)
        _check("max_gb", self.max_gb, MaxGB)
        _check("min_free_gb", self.min_free_gb, MinFreeGB)
        _check("preroll_mb", self.preroll_mb, PrerollMB)

    def for_camera(self, camera: CameraName) -> CameraRecording:
        return self.cameras.get(camera, self.default)

    def triggers(self, label: str) -> bool:
        return label != "offline" if self.event_labels is None else label in self.event_labels
