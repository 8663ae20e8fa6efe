"""Recording: segments of the cameras' own JPEGs, or of video cameras' own packets in
fragmented MP4 (no re-encode either way), indexed in SQLite, with pre-roll before events,
retention, a free-disk guard, and clips on request (remuxed for video cameras,
transcoded to H.264 for JPEG cameras)."""

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
