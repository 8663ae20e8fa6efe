"""Cameras the hub reads itself (``camhub hub CAMERA_URL...``, or ``pull = true`` in the
fleet file), as Frigate and go2rtc do: no ``camhub send`` needed for a phone app or an IP
camera the hub can reach.

Each camera runs on the same :class:`~camhub.agent.CameraWorker` as ``camhub send`` (same
sources, same pass-through of the camera's own H.264/H.265 or JPEG, same resize/re-encode
options), but its outlet is the hub's store instead of a ZeroMQ sender. Pictures are not
encoded as H.264 here unless the camera asks for ``codec = "h264"``. Configured cameras are declared up front, so the
dashboard lists them before their first frame, with the reason they are not streaming.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Protocol
from urllib.parse import urlsplit

from camhub.agent import CameraJob, CameraWorker
from camhub.sources import parse_source
from camhub.types import CameraName, CamhubError, Frame
from camhub.video.gop import KeyframeRequest
from camhub.video.packet import Codec

log = logging.getLogger("camhub.puller")

PEER = "pulled by the hub"
"""What the dashboard shows as a pulled camera's sender."""


class PullTarget(Protocol):
    """The part of :class:`~camhub.store.CameraStore` the puller feeds."""

    def put(self, frame: Frame, peer: str) -> None: ...

    def declare(self, name: CameraName, *, source: str | None = None) -> None: ...

    def set_reason(self, name: CameraName, reason: str | None) -> None: ...


class _StoreOutlet:
    """A :class:`~camhub.agent.Outlet` that hands frames straight to the store, which
    takes every codec: a camera's own video passes through."""

    refused = False
    last_error: str | None = None

    def __init__(self, store: PullTarget) -> None:
        self.store = store
        self.on_keyframe_needed: KeyframeRequest | None = None

    def accepts(self, codec: Codec) -> bool:
        return True

    def send_frame(self, frame: Frame) -> bool:
        frame.received_at = time.time()
        self.store.put(frame, PEER)
        return True

    def interrupt(self) -> None:
        pass

    def close(self) -> None:
        pass


def pull_names(sources: Sequence[str]) -> list[str]:
    """Default names for pulled cameras: the camera's host (``192.168.1.23``), else the
    source kind; ``-2``, ``-3``... when two would clash."""
    names: list[str] = []
    for source in sources:
        spec = parse_source(source)
        host = urlsplit(spec.url).hostname if "://" in spec.url else None
        base = host or spec.kind
        name, n = base, 1
        while name in names:
            n += 1
            name = f"{base}-{n}"
        names.append(name)
    return names


class Puller:
    """Pulls ``jobs`` into ``store``: a :class:`CameraWorker` per camera, started by
    :meth:`start`, stopped (promptly) by :meth:`stop`."""

    def __init__(self, store: PullTarget, jobs: Sequence[CameraJob]) -> None:
        names = [job.name for job in jobs]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise CamhubError(f"camera names must be unique; repeated: {', '.join(duplicates)}")
        self.store = store
        self.displays = {job.name: parse_source(job.source).display for job in jobs}
        self.workers: list[CameraWorker] = []
        try:
            for job in jobs:
                self.workers.append(
                    CameraWorker(
                        job,
                        outlet=lambda: _StoreOutlet(store),
                        on_state=self._on_state,
                        encode_video=False,
                    )
                )
        except BaseException:
            for worker in self.workers:
                worker.source.stop()
            raise
        for job in jobs:
            store.declare(job.name, source=self.displays[job.name])
            store.set_reason(job.name, f"connecting to {self.displays[job.name]}")

    def _on_state(self, worker: CameraWorker) -> None:
        name = worker.job.name
        if worker.state == "streaming":
            self.store.set_reason(name, None)
        elif worker.state == "ended":
            self.store.set_reason(name, "the source ended (a video file plays once unless loop)")
        elif worker.error:
            self.store.set_reason(name, worker.error)

    def start(self) -> Puller:
        for worker in self.workers:
            worker.start()
        if self.workers:
            log.info(
                "pulling %d camera(s): %s",
                len(self.workers),
                ", ".join(f"{n} <- {d}" for n, d in self.displays.items()),
            )
        return self

    def stop(self, timeout: float = 10.0) -> None:
        for worker in self.workers:
            worker.stop()
        deadline = time.monotonic() + timeout
        for worker in self.workers:
            worker.join(max(0.1, deadline - time.monotonic()))
            if worker.alive:
                log.warning("pulled camera %s did not stop in time", worker.job.name)
