"""The processor hook with a real hub and real senders."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

import camhub
import camhub.processing.base as processing_base
from camhub.processing import (
    Detection,
    MotionProcessor,
    Processor,
    ProcessorRunner,
    Result,
    UnknownProcessor,
    processor_class,
    processor_types,
    register,
)
from tests.conftest import wait_until

pytestmark = pytest.mark.timeout(60)


def _frames(count: int, size: tuple[int, int] = (80, 60)) -> list[bytes]:
    w, h = size
    out = []
    for i in range(count):
        img = np.full((h, w, 3), 50, np.uint8)
        x = (i * 5) % (w - 16)
        img[h // 3 : h // 3 + 16, x : x + 16] = 250
        out.append(camhub.encode_jpeg(img))
    return out


@pytest.fixture
def hub() -> Iterator[camhub.Hub]:
    h = camhub.Hub(bind="tcp://127.0.0.1:0", offline_after=2.0).start()
    yield h
    h.stop()


def _stream(hub: camhub.Hub, name: str, count: int, fps: float, out: list[int]) -> threading.Thread:
    frames = _frames(16)

    def run() -> None:
        with camhub.Sender(hub.endpoint, window=4) as sender:
            next_at = time.monotonic()
            for i in range(count):
                sender.send_jpeg(name, frames[i % len(frames)])
                next_at += 1 / fps
                time.sleep(max(0.0, next_at - time.monotonic()))
            sender.flush(5)
            out.append(sender.stats.acked)

    t = threading.Thread(target=run)
    t.start()
    return t


def test_slow_processor_does_not_slow_ingest_or_other_cameras(hub: camhub.Hub) -> None:
    def slow(frame: camhub.Frame) -> dict[str, object]:
        if frame.name == "slow":
            time.sleep(0.2)
        return {"seen": frame.seq}

    runner = hub.add_processor(slow)
    acked: list[int] = []
    threads = [_stream(hub, "slow", 60, 30, acked), _stream(hub, "fast", 60, 30, acked)]
    for t in threads:
        t.join(30)
    assert acked == [60, 60]
    wait_until(
        lambda: all(
            (s := hub.camera_stats(n)) is not None and s.frames == 60 for n in ("slow", "fast")
        )
    )
    wait_until(
        lambda: (ws := runner.camera_stats("fast")) is not None and ws.processed + ws.skipped == 60
    )
    time.sleep(0.3)
    slow_ws, fast_ws = runner.camera_stats("slow"), runner.camera_stats("fast")
    assert slow_ws is not None and fast_ws is not None
    # every frame reached the hub although one camera's processor is ~6x too slow
    assert slow_ws.skipped > 30, slow_ws
    assert slow_ws.processed + slow_ws.skipped <= 60
    assert slow_ws.processed < 20
    # the other camera's worker kept up (it may skip a few on a loaded machine)
    assert fast_ws.processed > slow_ws.processed * 2
    latest = runner.latest("slow")
    assert latest is not None and latest.data["seen"] is not None


def test_processor_always_gets_the_newest_frame(hub: camhub.Hub) -> None:
    seen: list[int] = []
    release = threading.Event()

    def blocking(frame: camhub.Frame) -> None:
        assert frame.seq is not None
        seen.append(frame.seq)
        release.wait(5)

    runner = ProcessorRunner(hub, blocking).start()
    try:
        with camhub.Sender(hub.endpoint) as sender:
            jpegs = _frames(10)
            # The runner finds new cameras by watching the store: let it find this one
            # and block on its first frame, then send the rest while it is busy.
            sender.send_jpeg("cam", jpegs[0])
            wait_until(lambda: seen)
            for jpeg in jpegs[1:]:
                sender.send_jpeg("cam", jpeg)
            assert sender.flush(5)
        wait_until(lambda: hub.camera_stats("cam").frames == 10)  # type: ignore[union-attr]
        release.set()
        wait_until(lambda: len(seen) >= 2)
        assert seen[-1] == 9, f"after a slow call the newest frame comes next, got {seen}"
        stats = runner.camera_stats("cam")
        assert stats is not None and stats.skipped == 9 - seen[0] - 1
    finally:
        release.set()
        runner.stop()


class _Lifecycle(Processor):
    type_name = "lifecycle_test"
    events: list[tuple[str, str]] = []

    def start(self, camera: str) -> None:
        self.camera = camera
        self.events.append(("start", camera))

    def process(self, frame: camhub.Frame) -> Result:
        return Result(detections=[Detection("thing", (1, 2, 10, 12), 0.9)], data={"n": 1})

    def stop(self) -> None:
        self.events.append(("stop", self.camera))


def test_lifecycle_per_camera_and_boxes_drawn_for_the_view(
    hub: camhub.Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Registered in a copy of the registry: a test processor left behind showed up in
    # other tests' "known processors" lists.
    monkeypatch.setattr(processing_base, "_REGISTRY", dict(processing_base._REGISTRY))
    register(_Lifecycle)
    assert "lifecycle_test" in processor_types()
    runner = ProcessorRunner(hub, "lifecycle_test").start()
    with camhub.Sender(hub.endpoint) as sender:
        for name in ("a", "b"):
            sender.send_jpeg(name, _frames(1)[0])
        assert sender.flush(5)
    wait_until(lambda: runner.latest("a") is not None and runner.latest("b") is not None)
    runner.stop()
    assert sorted(_Lifecycle.events) == [
        ("start", "a"),
        ("start", "b"),
        ("stop", "a"),
        ("stop", "b"),
    ]
    update = runner.latest("a")
    assert update is not None and update.jpeg is not None  # boxes drawn on the frame
    assert camhub.decode_jpeg(update.jpeg).shape == (60, 80, 3)
    assert update.detections == [{"label": "thing", "box": [1, 2, 10, 12], "score": 0.9}]


def test_errors_are_counted_and_do_not_stop_the_worker(
    hub: camhub.Hub, caplog: pytest.LogCaptureFixture
) -> None:
    calls = 0

    def flaky(frame: camhub.Frame) -> object:
        nonlocal calls
        calls += 1
        if calls % 2:
            raise RuntimeError("model exploded")
        return "not a result"

    runner = ProcessorRunner(hub, flaky).start()  # type: ignore[arg-type]
    try:
        with camhub.Sender(hub.endpoint) as sender:
            for jpeg in _frames(6):
                sender.send_jpeg("c", jpeg)
                sender.flush(5)
                time.sleep(0.05)
        wait_until(lambda: (s := runner.camera_stats("c")) is not None and s.errors >= 3)
    finally:
        runner.stop()
    stats = runner.camera_stats("c")
    assert stats is not None and stats.processed == 0
    assert "model exploded" in caplog.text
    assert stats.last_error is not None and (
        "must return a Result" in stats.last_error or "model exploded" in stats.last_error
    )


def test_frames_iterator_counts_skips(hub: camhub.Hub) -> None:
    with camhub.Sender(hub.endpoint) as sender:
        for jpeg in _frames(5):
            sender.send_jpeg("it", jpeg)
        assert sender.flush(5)
    wait_until(lambda: hub.camera_stats("it").frames == 5)  # type: ignore[union-attr]
    feed = hub.frames(timeout=0.3)
    got = [f.seq for f in feed]
    assert got == [4]  # only the newest, the earlier ones were already superseded


def test_motion_processor_sees_motion_only_when_something_moves() -> None:
    moving, still = MotionProcessor(), MotionProcessor()
    moving.start("m")
    still.start("s")
    background = np.full((240, 320, 3), 70, np.uint8)
    for i in range(15):
        img = background.copy()
        img[100:140, 10 + i * 15 : 50 + i * 15] = 240
        a = moving.process(camhub.Frame("m", array=img))
        b = still.process(camhub.Frame("s", array=background.copy()))
    assert a.data["motion"] is True and a.detections
    x, y, w, _h = a.detections[0].box
    assert 150 <= x + w <= 280 and 90 <= y <= 110
    assert b.data["motion"] is False and not b.detections
    assert a.image is not None and a.image.shape == (240, 320, 3)


def test_bad_processor_specs_fail_in_the_caller(hub: camhub.Hub) -> None:
    with pytest.raises(UnknownProcessor, match=r"unknown processor 'nope'.*motion"):
        processor_class("nope")
    with pytest.raises(ValueError, match="min_area"):
        ProcessorRunner(hub, "motion", options={"min_area": 5})
    with pytest.raises(TypeError, match="options are only for Processor classes"):
        ProcessorRunner(hub, lambda f: None, options={"x": 1})
    with pytest.raises(TypeError, match="not a camhub Processor"):
        ProcessorRunner(hub, int)  # type: ignore[arg-type]

    class Nameless(Processor):
        pass

    with pytest.raises(ValueError, match="type_name"):
        register(Nameless)


def test_processors_stop_with_the_hub() -> None:
    hub = camhub.Hub(bind="tcp://127.0.0.1:0").start()
    runner = hub.add_processor("motion")
    with camhub.Sender(hub.endpoint) as sender:
        sender.send_jpeg("x", _frames(1)[0])
        assert sender.flush(5)
    wait_until(lambda: runner.latest("x") is not None)
    hub.stop()
    assert runner.stopping.is_set()
    assert not any(t.name.startswith("camhub-proc-motion") for t in threading.enumerate())
