"""Camera offline/online notices (:class:`~camhub.types.HubEvent`) become ``offline``
events: one starts when a camera stops sending and ends when it is back."""

from __future__ import annotations

from camhub.bus import BusSubscription, EventBus
from camhub.events.model import Event, EventUpdate
from camhub.types import CameraName, FrameStore, HubEvent


class OfflineEvents:
    """Subscribes to the bus's HubEvents and publishes EventUpdates on the same bus."""

    def __init__(self, bus: EventBus, store: FrameStore | None = None) -> None:
        self.bus = bus
        self.store = store
        """Where the camera's last frame comes from, as the event's snapshot."""
        self.active: dict[CameraName, Event] = {}
        self._sub: BusSubscription | None = None

    def start(self) -> OfflineEvents:
        if self._sub is None:
            self._sub = self.bus.subscribe(self.handle, name="offline-events", kinds=(HubEvent,))
        return self

    def handle(self, notice: HubEvent) -> None:
        camera = notice.camera
        if camera is None:
            return
        if notice.kind == "camera_offline" and camera not in self.active:
            last = None if self.store is None else self.store.latest(camera)
            event = Event(
                camera=camera,
                label="offline",
                start=notice.at,
                snapshot=None if last is None else last.to_jpeg(),
                data={"detail": notice.detail},
            )
            self.active[camera] = event
            self.bus.publish(EventUpdate("new", event.copy()))
        elif notice.kind == "camera_online" and camera in self.active:
            event = self.active.pop(camera)
            before = event.copy()
            event.end = max(event.start, notice.at)
            self.bus.publish(EventUpdate("end", event, before))

    def stop(self) -> None:
        if self._sub is not None:
            self._sub.close()
            self._sub = None

    def flush(self, timeout: float = 5.0) -> bool:
        return self._sub is None or self._sub.flush(timeout)
