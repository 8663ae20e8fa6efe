"""A hub with a history to review, for the review page's browser tests and screenshots:
a video camera ("door", H.264 recorded as fMP4 segments), a JPEG camera ("yard",
recorded as JPEG segments), and a camera whose recording is off ("porch"), with
events on all three (objects with scores, zones and snapshots, motion, offline)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import camhub
from camhub.events import Event, EventUpdate
from camhub.history import History
from camhub.record.settings import CameraRecording, RecordSettings
from camhub.types import Frame
from camhub.video.packet import VideoPacket
from camhub.web import WebServer
from tests.conftest import wait_until
from tests.record.helpers import jpeg_at
from tests.video.coded import encode, scene

FPS = 15
COUNT = 90  # 6 s of video: three 2-s segments


@dataclass
class ReviewSite:
    url: str
    t0: float
    """When the door's and yard's recordings start."""
    hub: camhub.Hub
    history: History
    web: WebServer

    def publish(self, event: Event) -> None:
        """A new event as the hub would announce it (bus, store, live stream)."""
        self.hub.bus.publish(EventUpdate("new", event.copy()))

    def stop(self) -> None:
        self.web.stop()
        self.history.stop()
        self.hub.stop()


def start_site(data: Path, old_events: int = 130) -> ReviewSite:
    packets: list[VideoPacket] = encode("h264", scene(COUNT, (320, 240)), gop=15)
    hub = camhub.Hub("tcp://127.0.0.1:0").start()
    settings = RecordSettings(
        default=CameraRecording("continuous"),
        cameras={"porch": CameraRecording("off")},
        segment_seconds=2.0,
        min_free_gb=0,
    )
    history = History(hub.store, hub.bus, data, settings).start()
    t0 = time.time() - 300
    for i, p in enumerate(packets):
        at = t0 + i / FPS
        hub.store.put(Frame("door", video=p, seq=i, captured_at=at, received_at=at), "test")
        hub.store.put(
            Frame("yard", jpeg=jpeg_at(i), seq=i, received_at=at, width=160, height=120), "test"
        )
    rec = history.recorder
    assert rec is not None
    wait_until(lambda: rec.seen >= 2 * COUNT, what="the recorder to take every frame")
    wait_until(lambda: len(history.index.find("door")) == 3, what="three video segments")
    rec.stop()  # closes the last segments: the recordings end where the frames did
    snap = jpeg_at(3, (320, 240))
    history.store.save(
        Event("door", "person", t0 + 1.0, end=t0 + 3.5, score=0.83, top_score=0.91,
              zones=["steps"], snapshot=snap, box=(40, 60, 80, 120))
    )  # fmt: skip
    history.store.save(Event("yard", "motion", t0 + 2.0, end=t0 + 4.0, snapshot=jpeg_at(5)))
    history.store.save(
        Event("porch", "person", t0 + 30.0, end=t0 + 45.0, score=0.7, top_score=0.77)
    )
    for i in range(old_events):  # older history, for paging: one a minute before the recordings
        history.store.save(
            Event("porch", "car" if i % 2 else "motion", t0 - 600 - 60 * i, end=t0 - 590 - 60 * i)
        )
    assert history.store.flush()
    web = WebServer(hub, "127.0.0.1:0", history=history).start()
    return ReviewSite(web.url, t0, hub, history, web)
