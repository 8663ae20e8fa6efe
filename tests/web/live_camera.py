"""A video camera for the live-view tests and benchmark: real H.264 made by FFmpeg's
libx264 (through PyAV) from a photograph scene, looped into a real hub at its frame
rate with growing timestamps, as a camera's packets reach the hub."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import camhub
from camhub.types import Frame
from camhub.video.packet import TIME_BASE, VideoPacket
from tests.video.coded import encode, scene


def h264_loop(
    count: int = 30, size: tuple[int, int] = (320, 240), gop: int = 15
) -> list[VideoPacket]:
    """``count`` packets (a multiple of ``gop``, so the loop restarts on a keyframe)."""
    assert count % gop == 0
    packets = encode("h264", scene(count, size), gop=gop)
    assert packets[0].keyframe and len(packets) == count
    return packets


class VideoCamera:
    """Puts a loop of packets into ``hub`` at ``fps`` from a thread, like a sender."""

    def __init__(
        self, hub: camhub.Hub, name: str, packets: list[VideoPacket], fps: int = 15
    ) -> None:
        self.hub, self.name, self.packets, self.fps = hub, name, packets, fps
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        tick = TIME_BASE // self.fps
        start = time.monotonic()
        while not self._stop.is_set():
            i = self.sent
            p = self.packets[i % len(self.packets)]
            p = replace(p, pts=i * tick, dts=None)
            now = time.time()
            self.hub.put(Frame(self.name, video=p, seq=i, captured_at=now, received_at=now), "test")
            self.sent += 1
            self._stop.wait(max(0.0, start + self.sent / self.fps - time.monotonic()))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
