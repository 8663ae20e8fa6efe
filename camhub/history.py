"""What the hub remembers: events (SQLite) and recordings (segments), wired to a hub.

:class:`History` opens the data directory first, so a bad ``--data`` (unwritable,
vanished, a damaged database) stops the hub at start-up with the path in the message,
before any camera connects. It then runs the offline-event producer, the event
manager and store, the recorder and the clip exporter, and stops them in order.
"""

from __future__ import annotations

import logging
from pathlib import Path

from camhub.bus import EventBus
from camhub.events import EventManager, EventStore, OfflineEvents
from camhub.record.clip import ClipExporter
from camhub.record.index import SegmentIndex
from camhub.record.recorder import Recorder
from camhub.record.settings import RecordSettings
from camhub.store import CameraStore

log = logging.getLogger("camhub.history")


class History:
    """Events and recordings for the cameras of ``store`` in ``data_dir``; their events
    come from ``bus`` (the hub's). ``start()``/``stop()``."""

    RECORDER_QUEUE = 256
    """Frames the recorder may fall behind (all cameras) before the oldest are dropped."""

    def __init__(
        self,
        store: CameraStore,
        bus: EventBus,
        data_dir: Path,
        settings: RecordSettings | None = None,
    ) -> None:
        self.frames = store
        self.bus = bus
        self.data_dir = data_dir
        self.settings = settings or RecordSettings()
        # DataDirError names the path; events are kept as long as recordings
        self.store = EventStore.open(data_dir, keep_days=self.settings.keep_days)
        try:
            self.index = SegmentIndex.open(data_dir)
        except BaseException:
            self.store.close()
            raise
        self.manager = EventManager(bus, self.store)
        self.offline = OfflineEvents(bus, store)
        self.clips = ClipExporter(self.index, data_dir / "clips")
        self.recorder: Recorder | None = None

    @property
    def records(self) -> bool:
        s = self.settings
        return s.default.mode != "off" or any(c.mode != "off" for c in s.cameras.values())

    def start(self) -> History:
        self.manager.start()
        self.offline.start()
        if self.records and self.recorder is None:
            frames = self.frames.subscribe(maxsize=self.RECORDER_QUEUE, name="recorder")
            self.recorder = Recorder(frames, self.bus, self.index, self.settings).start()
        log.info(
            "events in %s; recording %s",
            self.store.path,
            "to " + str(self.index.root) if self.recorder else "off",
        )
        return self

    def health(self) -> list[str]:
        out = [] if self.recorder is None else self.recorder.health()
        if self.store.last_error and self.store.errors:
            out.append(f"event store: {self.store.last_error}")
        return out

    def stats(self) -> dict[str, object]:
        return {
            "data_dir": str(self.data_dir),
            "events": self.manager.stats(),
            "recorder": None if self.recorder is None else self.recorder.stats(),
            "clips": self.clips.stats(),
            "health": self.health(),
        }

    def stop(self) -> None:
        self.offline.stop()
        if self.recorder is not None:
            self.recorder.stop()
        self.manager.stop()
        self.manager.end_active()
        self.clips.close()
        self.store.close()
        self.index.close()
