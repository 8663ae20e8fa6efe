"""What the hub remembers: events (SQLite) and recordings (segments), wired to a hub.

:class:`History` opens the data directory first, so a bad ``--data`` (unwritable,
vanished, a damaged database) stops the hub at start-up with the path in the message,
before any camera connects. It then runs the offline-event producer, the event
manager and store, the recorder and the clip exporter, and stops them in order.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from camhub.bus import EventBus
from camhub.events import EventManager, EventStore, OfflineEvents
from camhub.hub import Hub
from camhub.processing import ProcessorRunner, ProcessorUpdate
from camhub.record.clip import ClipExporter
from camhub.record.index import SegmentIndex
from camhub.record.recorder import FrameSubscription, Recorder
from camhub.record.settings import RecordSettings
from camhub.types import Frame

log = logging.getLogger("camhub.history")


class _FeedSubscription:
    """Stand-in for ``CameraStore.subscribe`` until the hub has it: the hub's newest-frame
    feed, whose skipped frames are this subscription's drops."""

    def __init__(self, hub: Hub) -> None:
        self._feed = hub.frames()
        self._closed = False

    @property
    def dropped(self) -> int:
        return self._feed.skipped_total

    def get(self, timeout: float | None = None) -> Frame | None:
        if self._closed:
            return None
        try:
            return self._feed.next(timeout)
        except TimeoutError:
            return None

    def close(self) -> None:
        self._closed = True


def subscribe_frames(hub: Hub, name: str = "recorder", maxsize: int = 256) -> FrameSubscription:
    subscribe = getattr(hub, "subscribe", None) or getattr(
        getattr(hub, "store", None), "subscribe", None
    )
    if subscribe is not None:
        sub: FrameSubscription = subscribe(maxsize=maxsize, name=name)
        return sub
    return _FeedSubscription(hub)


class History:
    """Events and recordings for ``hub`` in ``data_dir``; ``start()``/``stop()``."""

    def __init__(
        self,
        hub: Hub,
        bus: EventBus,
        data_dir: Path,
        settings: RecordSettings | None = None,
    ) -> None:
        self.hub = hub
        self.bus = bus
        self.data_dir = data_dir
        self.settings = settings or RecordSettings()
        self.store = EventStore.open(data_dir)  # DataDirError names the path
        try:
            self.index = SegmentIndex.open(data_dir)
        except BaseException:
            self.store.close()
            raise
        self.manager = EventManager(bus, self.store)
        self.offline = OfflineEvents(bus, hub)
        self.clips = ClipExporter(self.index, data_dir / "clips")
        self.recorder: Recorder | None = None
        self._runners: list[ProcessorRunner] = []

    @property
    def records(self) -> bool:
        s = self.settings
        return s.default.mode != "off" or any(c.mode != "off" for c in s.cameras.values())

    def start(self) -> History:
        self.manager.start()
        self.offline.start()
        if self.records and self.recorder is None:
            self.recorder = Recorder(
                subscribe_frames(self.hub), self.bus, self.index, self.settings
            ).start()
        log.info(
            "events in %s; recording %s",
            self.store.path,
            "to " + str(self.index.root) if self.recorder else "off",
        )
        return self

    def watch(self, runners: Iterable[ProcessorRunner]) -> None:
        """Publish the events these processors report (``Result.events``) on the bus."""
        for runner in runners:
            runner.add_listener(self._publish_events)

    def _publish_events(self, update: ProcessorUpdate) -> None:
        for event in update.events:
            self.bus.publish(event)

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
            "clips": {"exported": self.clips.exported, "failed": self.clips.failed},
            "health": self.health(),
        }

    def stop(self) -> None:
        self.offline.stop()
        if self.recorder is not None:
            self.recorder.stop()
        self.manager.stop()
        self.clips.close()
        self.store.close()
        self.index.close()
