"""What to record, per camera, and how long to keep it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from camhub.types import CameraName, CamhubError

RecordMode = Literal["off", "events", "continuous"]
RECORD_MODES: tuple[RecordMode, ...] = ("off", "events", "continuous")


class RecordSettingsError(CamhubError, ValueError):
    """A recording setting is out of range."""


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
        for name in ("pre_roll", "post_roll"):
            value = getattr(self, name)
            if not 0 <= value <= 300:
                raise RecordSettingsError(f"{name} must be 0..300 seconds, got {value}")


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
        checks = (
            ("segment_seconds", self.segment_seconds, 1.0, 600.0),
            ("keep_days", self.keep_days, 0.0, 36500.0),
            ("max_gb", self.max_gb, 0.0, 1e6),
            ("min_free_gb", self.min_free_gb, 0.0, 1e6),
            ("preroll_mb", self.preroll_mb, 1.0, 1e5),
        )
        for name, value, low, high in checks:
            if not low <= value <= high:
                raise RecordSettingsError(f"{name} must be {low:g}..{high:g}, got {value}")

    def for_camera(self, camera: CameraName) -> CameraRecording:
        return self.cameras.get(camera, self.default)

    def triggers(self, label: str) -> bool:
        return label != "offline" if self.event_labels is None else label in self.event_labels
