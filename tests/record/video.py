"""A video camera recorded through the one ingest path: a real CameraStore whose
subscription feeds a real Recorder, and packets put with chosen times and ``seq``."""

from __future__ import annotations

from pathlib import Path

from camhub.bus import EventBus
from camhub.events import EventUpdate
from camhub.record.index import SegmentIndex
from camhub.record.recorder import Recorder
from camhub.record.settings import RecordSettings
from camhub.store import CameraStore
from camhub.types import Frame
from camhub.video.packet import VideoPacket
from tests.conftest import wait_until
from tests.video.coded import ffmpeg_md5s

T0 = 1_700_000_000.0
"""Long past: tests that use it keep their recordings forever (``keep_days=0``)."""
FPS = 15


class Rig:
    """A real CameraStore with the recorder on its subscription."""

    def __init__(self, root: Path, settings: RecordSettings) -> None:
        self.bus = EventBus()
        self.store = CameraStore(self.bus)
        self.rec = Recorder(
            self.store.subscribe(maxsize=1000, name="recorder"),
            self.bus,
            SegmentIndex.open(root),
            settings,
        ).start()

    def put(self, camera: str, packets: list[VideoPacket], first: int, *, seq: bool = True) -> None:
        """Packet ``k`` is frame ``first + k``: it arrives at ``T0 + (first + k) / FPS``."""
        target = self.rec.seen + len(packets)
        for i, p in enumerate(packets, first):
            at = T0 + i / FPS
            frame = Frame(camera, video=p, seq=i if seq else None, captured_at=at, received_at=at)
            self.store.put(frame, "test")
        wait_until(lambda: self.rec.seen >= target, timeout=20)

    def event(self, update: EventUpdate) -> None:
        self.bus.publish(update)
        assert self.rec._events is not None and self.rec._events.flush()

    def recorded(self, camera: str) -> list[str]:
        """The pictures FFmpeg decodes from every segment, in order; no complaints."""
        out = []
        for seg in self.rec.index.find(camera):
            got, complaints = ffmpeg_md5s(str(seg.path))
            assert complaints == "", f"{seg.path}: {complaints}"
            assert len(got) == seg.frames
            out += got
        return out

    def close(self) -> None:
        self.rec.stop()
        self.store.stop()
        self.bus.close()
