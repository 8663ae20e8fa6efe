"""A detector actor that hangs inside its model, on a real (local) Ray: the frame is counted
lost, the actor is killed and Ray starts a new process for it, and the other actor serves
the cameras meanwhile."""

from __future__ import annotations

import secrets
import time

import numpy as np
import pytest

from camhub.bus import EventBus
from camhub.detect.pool import DetectorSpec
from camhub.detect.scheduler import ObjectDetection
from camhub.distributed import RayOptions, RayPool
from camhub.jpeg import encode_jpeg
from camhub.store import CameraStore
from camhub.types import Frame
from tests.conftest import wait_until
from tests.detect.photos import photo

pytestmark = [pytest.mark.ray, pytest.mark.timeout(240)]


def test_a_hung_actor_is_restarted_by_ray_in_a_new_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    monkeypatch.setenv("RAY_AUTH_TOKEN", secrets.token_hex(16))  # nothing into ~/.ray
    bus = EventBus()
    store = CameraStore(bus).start()
    # Real YOLOv3-tiny that hangs forever on an all-black image (tests/detect/sleepy.py).
    spec = DetectorSpec("sleepy_for_test", modules=("tests.detect.sleepy",))
    options = RayOptions(address="auto", actors=2, num_cpus=0.5, local_cpus=2, call_timeout=4.0)
    pool = RayPool(spec, options)
    det = ObjectDetection(
        store, bus, spec, labels=["person"], detect_fps=4, motion_gated=False, pool=pool
    )
    img = photo("astronaut")
    person = encode_jpeg(img)
    try:
        det.start()
        wait_until(
            lambda: sum(a.state in ("ready", "busy") for a in pool.stats()) == 2,
            120,
            what=lambda: pool.health(),
        )
        pids = {a.worker: a.pid for a in pool.stats()}
        black = encode_jpeg(np.zeros((480, 640, 3), np.uint8))
        store.put(Frame("dark", jpeg=black, width=640, height=480), "test")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not pool.lost:
            store.put(Frame("porch", jpeg=person, width=512, height=512), "test")
            time.sleep(0.2)
        assert pool.lost >= 1, pool.health()
        # The actors' figures come with the bridge's health report, once a second.
        wait_until(lambda: any(a.failures for a in pool.stats()), 5, what=lambda: pool.health())
        hung = [a for a in pool.stats() if a.failures]
        assert len(hung) == 1 and "no answer within 4 s" in str(hung[0].last_error)
        index = hung[0].worker
        # Ray starts the killed actor again, in a new process, and it serves again.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            store.put(Frame("porch", jpeg=person, width=512, height=512), "test")
            a = next(a for a in pool.stats() if a.worker == index)
            if a.restarts and a.pid != pids[index] and a.state in ("ready", "busy"):
                break
            time.sleep(0.2)
        assert a.restarts >= 1 and a.pid != pids[index], pool.health()
        assert pool.state == "running"
    finally:
        det.stop()
        store.stop()
