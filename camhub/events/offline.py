"""Camera offline/online notices (:class:`~camhub.types.HubEvent`) become ``offline``
events: one starts when the hub notices that a camera stopped sending and ends when it is
back.

The event's ``start`` is the moment the outage was noticed (``offline_after`` seconds of
silence after the last frame), the same moment the MQTT status turns ``offline``; the last
frame's arrival time is kept in ``data["last_frame_at"]`` and its picture is the snapshot.
"""

from __future__ import annotations

from camhub.bus import BusSubscription, EventBus
from camhub.events.lifecycle import Lifecycle
from camhub.events.model import Event
from camhub.types import CameraName, FrameStore, HubEvent


class OfflineEvents:
    """Subscribes to the bus's HubEvents and publishes EventUpdates on the same bus."""

    def __init__(self, bus: EventBus, store: FrameStore | None = None) -> None:
        self.bus = bus
        self.store = store
        """Where the camera's last frame comes from, as the event's snapshot."""
        self._events: Lifecycle[CameraName] = Lifecycle(bus.publish)
        self._sub: BusSubscription | None = None

    @property
    def active(self) -> dict[CameraName, Event]:
        """The outages going on, by camera."""
        return dict(self._events.items())

    def start(self) -> OfflineEvents:
        if self._sub is None:
            self._sub = self.bus.subscribe(self.handle, name="offline-events", kinds=(HubEvent,))
        return self

    def handle(self, notice: HubEvent) -> None:
        camera = notice.camera
        if camera is None:
            return
        if notice.kind == "camera_offline" and camera not in self._events:
            last = None if self.store is None else self.store.latest(camera)
            data: dict[str, object] = {"detail": notice.detail}
            if last is not None:
                data["last_frame_at"] = last.received_at
            event = Event(
                camera=camera,
                label="offline",
                start=notice.at,
                snapshot=None if last is None else last.to_jpeg(),
                data=data,
            )
            self._events.start(camera, event)
        elif notice.kind == "camera_online":
            self._events.end(camera, notice.at)

    def stop(self) -> None:
        if self._sub is not None:
            self._sub.close()
            self._sub = None

    def flush(self, timeout: float = 5.0) -> bool:
        return self._sub is None or self._sub.flush(timeout)
