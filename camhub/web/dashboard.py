"""The dashboard's state: what the pages show and the picture fan-out that feeds them.

:class:`Dashboard` holds the hub, the processors and object detection, wires their
updates into the :class:`~camhub.web.broadcast.Broadcaster`, and builds the camera JSON
of ``/api/cameras``. The endpoints (:mod:`camhub.web.cameras`, :mod:`camhub.web.streams`)
take it explicitly; nothing is global.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

from starlette.requests import Request

from camhub.detect.scheduler import ObjectDetection, ObjectsUpdate
from camhub.health import HubHealth, hub_health
from camhub.phones.gate import PhoneGate
from camhub.processing import ProcessorRunner, ProcessorUpdate
from camhub.types import CameraName, HubView
from camhub.web.broadcast import LIVE, Broadcaster, HubPump, Key

OBJECTS = "objects"
"""The stream view whose records carry a camera's tracked objects as JSON, not a JPEG."""


class Dashboard:
    """Everything the routes need, passed explicitly (no globals)."""

    def __init__(
        self,
        hub: HubView,
        runners: Sequence[ProcessorRunner],
        detection: ObjectDetection | None = None,
        phones: PhoneGate | None = None,
    ) -> None:
        self.hub = hub
        self.runners = list(runners)
        self.detection = detection
        self.phones = phones
        """Browser cameras' admission counters, counted with the hub's own."""
        self.broadcaster = Broadcaster(seed=self._seed)
        self.pump = HubPump(hub, self.broadcaster)
        self.started_at = time.time()
        for runner in self.runners:
            runner.add_listener(self._on_update)
        if detection is not None:
            detection.add_listener(self._on_objects)

    # -- wiring ----------------------------------------------------------------------

    def _on_update(self, update: ProcessorUpdate) -> None:
        key = (update.camera, update.processor)
        if update.jpeg is not None and self.broadcaster.has_viewer_for(key):
            self.broadcaster.publish_threadsafe(
                update.camera, update.processor, update.jpeg, update.frame_received_at
            )

    def objects_json(self, update: ObjectsUpdate) -> dict[str, Any]:
        out = update.as_dict()
        if self.detection is not None:
            out.update(self.detection.zones(update.camera))
        return out

    def _on_objects(self, update: ObjectsUpdate) -> None:
        # Boxes travel as JSON on the same multiplexed stream as the pictures, and the
        # browser draws them: no per-viewer JPEG encode on the hub.
        if self.broadcaster.has_viewer_for((update.camera, OBJECTS)):
            payload = json.dumps(self.objects_json(update)).encode()
            self.broadcaster.publish_threadsafe(update.camera, OBJECTS, payload, update.at)

    def _seed(self, bc: Broadcaster) -> None:
        for name in self.hub.camera_names():
            # Only pictures somebody watches: a video camera's means decoding it.
            frame = self.hub.latest(name) if bc.has_viewer_for((name, LIVE)) else None
            if frame is not None and (bc.latest_at((name, LIVE)) or 0) < frame.received_at:
                with contextlib.suppress(Exception):
                    bc.publish(name, LIVE, frame.to_jpeg(), frame.received_at)
            for runner in self.runners:
                update = runner.latest(name)
                if update is None or update.jpeg is None:
                    continue
                if (bc.latest_at((name, runner.name)) or 0) < update.frame_received_at:
                    bc.publish(name, runner.name, update.jpeg, update.frame_received_at)

    def health(self) -> HubHealth:
        """The hub-wide counters: ZeroMQ senders and browser cameras alike."""
        return hub_health(self.hub, self.started_at, self.phones)

    def views(self, camera: CameraName) -> list[str]:
        return [LIVE, *(r.name for r in self.runners if r.wants(camera))]

    def runner(self, view: str) -> ProcessorRunner | None:
        return next((r for r in self.runners if r.name == view), None)

    # -- JSON ------------------------------------------------------------------------

    def camera_json(self, name: CameraName) -> dict[str, Any] | None:
        stats = self.hub.camera_stats(name)
        if stats is None:
            return None
        out = stats.as_dict()
        # Seconds since the newest frame, by the hub's clock: what the page greys on.
        out["idle_s"] = round(max(0.0, time.time() - stats.last_seen), 1)
        base = "/api/cameras/" + quote(name, safe="")
        out["links"] = {
            "self": base,
            "snapshot": base + "/snapshot.jpg",
            "stream": base + "/stream.mjpg",
            "live": base + "/live",
            "page": "/camera?name=" + quote(name, safe=""),
        }
        out["views"] = self.views(name)
        processors: dict[str, Any] = {}
        for runner in self.runners:
            if not runner.wants(name):
                continue
            ws = runner.camera_stats(name)
            update = runner.latest(name)
            processors[runner.name] = {
                "stats": None if ws is None else ws.as_dict(),
                "data": None if update is None else update.data,
                "detections": [] if update is None else update.detections,
                "frame_received_at": None if update is None else update.frame_received_at,
                # A result about a picture from a camera that is gone is history, not news.
                "stale": not stats.online,
            }
        out["processors"] = processors
        if self.detection is not None:
            det_stats = next((c for c in self.detection.camera_stats() if c.camera == name), None)
            latest = self.detection.latest(name)
            out["objects"] = {
                "stats": None if det_stats is None else det_stats.as_dict(),
                "latest": None if latest is None else self.objects_json(latest),
            }
        return out

    # -- streams ---------------------------------------------------------------------

    def wants_for(self, request: Request) -> Callable[[Key], bool] | None:
        wanted = self._wants_pictures(request)
        if wanted is None:
            return None
        # ``skip``: cameras the page plays as video (camhub.web.live); their live
        # pictures would make the hub decode and encode them, for nobody. Their boxes
        # and processor views still come.
        skip = frozenset(request.query_params.getlist("skip"))
        pictures = wanted
        if skip:
            pictures = lambda key: not (key[1] == LIVE and key[0] in skip) and wanted(key)  # noqa: E731
        if request.query_params.get("objects") == "1":
            return lambda key: key[1] == OBJECTS or pictures(key)
        # Objects records are JSON, not pictures: only for clients that ask for them.
        return lambda key: key[1] != OBJECTS and pictures(key)

    def _wants_pictures(self, request: Request) -> Callable[[Key], bool] | None:
        camera = request.query_params.get("camera")
        view = request.query_params.get("view", LIVE)
        if camera is not None:
            only = request.query_params.get("view")
            return lambda key: key[0] == camera and (only is None or key[1] == only)
        if view == LIVE:
            return lambda key: key[1] == LIVE
        if view != "processed" and self.runner(view) is None:
            return None

        def wants(key: Key) -> bool:
            processed = [v for v in self.views(key[0]) if v != LIVE]
            if view != "processed":
                processed = [v for v in processed if v == view]
            return key[1] in processed if processed else key[1] == LIVE

        return wants
