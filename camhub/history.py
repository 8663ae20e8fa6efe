"""What the hub remembers: events (SQLite) and recordings (segments), wired to a hub.

:class:`History` opens the data directory first, so a bad ``--data`` (unwritable,
vanished, a damaged database) stops the hub at start-up with the path in the message,
before any camera connects. It then runs the offline-event producer, the event
manager and store, the recorder and the clip exporter, and stops them in order.

Start it after the notification sinks: :meth:`History.start` publishes the ``end`` of
every event the previous run left open, and the sinks should hear of them.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

from camhub.bus import EventBus
from camhub.events import EventManager, EventStore, OfflineEvents
from camhub.events.manager import EventManagerStats
from camhub.metrics import Exposition, single
from camhub.record.clip import ClipExporter, ClipStats
from camhub.record.index import SegmentIndex
from camhub.record.recorder import Recorder, RecorderStats
from camhub.record.settings import RecordSettings
from camhub.store import CameraStore

log = logging.getLogger("camhub.history")


@dataclass(frozen=True, slots=True)
class HistoryStats:
    """Events, recorder and clips together (``/api/recording``)."""

    data_dir: str
    events: EventManagerStats
    recorder: RecorderStats | None
    clips: ClipStats
    health: list[str]
    """Problems a person must see (empty: all well)."""

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


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
        self.manager.start()  # ends (and publishes) what a hub that died left open
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

    def stats(self) -> HistoryStats:
        return HistoryStats(
            data_dir=str(self.data_dir),
            events=self.manager.stats(),
            recorder=None if self.recorder is None else self.recorder.stats(),
            clips=self.clips.stats(),
            health=self.health(),
        )

    def end_events(self) -> None:
        """The hub is stopping: no new offline events, and the end of every event still
        going on goes out (to sinks, the recorder and the event stream) and is stored."""
        self.offline.stop()
        self.manager.end_active()

    def stop(self) -> None:
        self.end_events()  # nothing left when the service ended them already
        if self.recorder is not None:
            self.recorder.stop()
        self.manager.stop()
        self.clips.close()
        self.store.close()
        self.index.close()


def collect(out: Exposition, history: History) -> None:
    """Prometheus families for the recorder and the event store."""
    out.gauge(
        "camhub_recording_healthy",
        "0 while recording is stopped by an error such as low disk space.",
        single(not history.health()),
    )
    store = history.store.stats()
    out.counter(
        "camhub_events_stored_total",
        "Event changes written to the database.",
        single(store.written),
    )
    out.counter(
        "camhub_events_store_errors_total", "Failed event database writes.", single(store.errors)
    )
    if history.recorder is None:
        return
    rec = history.recorder.stats()
    out.counter(
        "camhub_recording_dropped_frames_total",
        "Frames the recorder could not keep up with.",
        single(rec.dropped),
    )
    cams = [(c, [("camera", c.camera)]) for c in rec.cameras]
    out.counter(
        "camhub_recorded_frames_total",
        "Frames written to recordings.",
        [(labels, c.frames) for c, labels in cams],
    )
    out.counter(
        "camhub_recorded_bytes_total",
        "Bytes written to recordings.",
        [(labels, c.bytes) for c, labels in cams],
    )
    out.counter(
        "camhub_recording_errors_total",
        "Recording write errors.",
        [(labels, c.errors) for c, labels in cams],
    )
    out.counter(
        "camhub_recording_skipped_packets_total",
        "Video packets not recorded: their group lost a packet, or no keyframe came yet.",
        [(labels, c.skipped) for c, labels in cams],
    )
