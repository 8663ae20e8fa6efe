"""Recording: segments of the cameras' own JPEGs (no re-encode), indexed in SQLite,
with pre-roll before events, retention, a free-disk guard, and H.264 clips on request."""

from camhub.record.index import Segment, SegmentIndex
from camhub.record.recorder import Recorder
from camhub.record.segment import SegmentError, read_segment
from camhub.record.settings import (
    RECORD_MODES,
    CameraRecording,
    RecordMode,
    RecordSettings,
    RecordSettingsError,
)

__all__ = [
    "RECORD_MODES",
    "CameraRecording",
    "RecordMode",
    "RecordSettings",
    "RecordSettingsError",
    "Recorder",
    "Segment",
    "SegmentError",
    "SegmentIndex",
    "read_segment",
]
