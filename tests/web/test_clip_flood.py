"""A clip flood against a real hub service (recording a real sender, dashboard on a free
port): the export queue is bounded (429 + Retry-After), requests for the same range
(give or take milliseconds) share one export, and an export whose clients hung up is
given up. The worker is held busy by a job of the test's own, so nothing depends on how
fast this machine encodes."""

from __future__ import annotations

import math
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from camhub.config import FleetConfig
from camhub.record.clip import ClipExporter
from camhub.service import HubService
from tests.conftest import wait_until
from tests.web.conftest import StreamingCamera, jpegs

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[HubService]:
    hub = {
        "bind": "tcp://127.0.0.1:0",
        "web": "127.0.0.1:0",
        "offline_after": 1.0,
        "status_every": 0,
        "data": str(tmp_path / "data"),
        "record": {"mode": "continuous", "segment_seconds": 2.0, "min_free_gb": 0},
    }
    svc = HubService(FleetConfig.model_validate({"hub": hub})).start()
    yield svc
    svc.stop()


def _recorded_frames(svc: HubService) -> int:
    assert svc.history is not None and svc.history.recorder is not None
    return sum(c.frames for c in svc.history.recorder.stats().cameras)


class RawClipRequest:
    """One clip request on its own socket, which the test may close (hang up)."""

    def __init__(self, port: int, camera: str, start: float, end: float) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.sendall(
            f"GET /api/recordings/clip.mp4?camera={camera}&start={start}&end={end} HTTP/1.1\r\n"
            "Host: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        )

    def response(self) -> tuple[int, bytes]:
        data = b""
        while chunk := self.sock.recv(1 << 16):
            data += chunk
        self.sock.close()
        head, _, body = data.partition(b"\r\n\r\n")
        return int(head.split(b" ", 2)[1]), body

    def hang_up(self) -> None:
        self.sock.close()


def test_clip_flood_is_bounded_shared_and_cancelled(service: HubService) -> None:
    assert service.hub is not None and service.web is not None and service.history is not None
    camera = StreamingCamera(
        service.hub.endpoint, "yard", fps=10, frames=jpegs(10, (160, 120)), size=(160, 120)
    )
    try:
        wait_until(lambda: _recorded_frames(service) >= 50, 30, "5 s recorded")
    finally:
        camera.stop()
    first = min(s.start for s in service.history.index.find("yard"))
    s = math.ceil(first)  # s .. s+3 is recorded

    clips: ClipExporter = service.history.clips
    clips.queue.max_pending = 4
    gate = threading.Event()
    busy = clips.queue.submit("someone else's long export", lambda _c: Path(str(gate.wait(60))))
    port = service.web.port
    r1 = RawClipRequest(port, "yard", s, s + 1)
    r2 = RawClipRequest(port, "yard", s, s + 2)
    r3 = RawClipRequest(port, "yard", s, s + 3)
    r4 = RawClipRequest(port, "yard", s + 1, s + 2)
    try:
        wait_until(lambda: clips.queue.pending == 4, 20, "four exports waiting")

        # Full: a fifth range is refused at once, with when to come back.
        url = f"{service.web.url}api/recordings/clip.mp4"
        refused = httpx.get(url, params={"camera": "yard", "start": s + 1, "end": s + 3})
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert "exports are waiting already" in refused.json()["error"]

        # Full, yet a millisecond shift of a waiting range joins that export.
        r1_again = RawClipRequest(port, "yard", s + 0.001, s + 0.999)
        wait_until(lambda: clips.queue.shared == 1, 20, "the shifted request to join")

        # Two clients hang up: their exports are dropped before they start.
        r3.hang_up()
        r4.hang_up()
        wait_until(lambda: clips.queue.cancelled == 2, 20, "two exports cancelled")
        assert clips.queue.pending == 2

        gate.set()
        assert busy.result(30)
        status1, body1 = r1.response()
        status1b, body1b = r1_again.response()
        status2, body2 = r2.response()
        assert (status1, status1b, status2) == (200, 200, 200)
        assert body1 == body1b and body1[4:8] == b"ftyp"  # one MP4 for both
        assert len(body2) > len(body1)
        assert clips.exported == 2  # r1 (shared) and r2; nothing for r3, r4
        assert clips.stats().refused == 1
    finally:
        gate.set()
        for r in (r1, r2, r3, r4):
            r.sock.close()
