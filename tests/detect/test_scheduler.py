"""Detection in worker processes, fed by the real camera store: motion gating, events on
the bus, a killed worker and a hung worker restarted while ingest goes on."""

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from camhub.bus import EventBus
from camhub.detect import DetectorError
from camhub.detect.pool import DetectorSpec
from camhub.detect.scheduler import FAILED, CameraSettings, ObjectDetection
from camhub.detect.zones import Line
from camhub.events.model import EventUpdate
from camhub.jpeg import encode_jpeg
from camhub.store import CameraStore
from camhub.types import Frame
from tests.conftest import wait_until
from tests.detect.scene import HEIGHT, Walker, background, cameraman, render


class Feeder:
    """Puts frames of a generated scene into the store at ``fps``, like a sender would."""

    def __init__(
        self,
        store: CameraStore,
        camera: str,
        scene: Callable[[float], np.ndarray],
        fps: float = 10.0,
    ) -> None:
        self.store, self.camera, self.scene, self.fps = store, camera, scene, fps
        self.stop = threading.Event()
        self.t = 0.0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        start = time.monotonic()
        while not self.stop.is_set():
            self.t = time.monotonic() - start
            jpeg = encode_jpeg(self.scene(self.t))
            self.store.put(Frame(self.camera, jpeg=jpeg, width=640, height=480), "test")
            self.stop.wait(1 / self.fps)

    def __enter__(self) -> "Feeder":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(5)


@pytest.fixture
def hub() -> Iterator[tuple[CameraStore, EventBus, list[EventUpdate]]]:
    bus = EventBus()
    store = CameraStore(bus)
    got: list[EventUpdate] = []
    sub = bus.subscribe(got.append, name="test", kinds=(EventUpdate,))
    yield store, bus, got
    sub.close()
    store.stop()


def walking(period: float = 6.0) -> Callable[[float], np.ndarray]:
    """A person crosses left to right in the first 3 s of every ``period``; then nobody."""
    bg = background()
    person = cameraman()

    def scene(t: float) -> np.ndarray:
        phase = t % period
        walker = [Walker(person, 10, 470, 0.0, 3.0)]
        frame, _ = render(walker, phase, bg) if phase <= 3.0 else (bg, None)
        return frame

    return scene


def test_a_person_walking_by_raises_one_new_event_and_the_door_counts_them(hub) -> None:  # type: ignore[no-untyped-def]
    store, bus, got = hub
    door = Line("door", (320, 0), (320, HEIGHT))
    det = ObjectDetection(
        store,
        bus,
        DetectorSpec("darknet"),
        labels=["person"],
        cameras={"porch": CameraSettings(detect_fps=5.0, lines=[door])},
    ).start()
    try:
        with Feeder(store, "porch", walking(period=100.0)):
            wait_until(lambda: any(u.type == "new" for u in got), 60, what=lambda: det.stats())
            wait_until(lambda: door.counts["in"] == 1, 60, what=lambda: (door.counts, det.stats()))
            # After the walk: nobody moves, so the detector rests.
            wait_until(lambda: any(u.type == "end" for u in got), 60, what=lambda: det.stats())
            quiet = det.camera_stats()[0].no_motion
            wait_until(lambda: det.camera_stats()[0].no_motion >= quiet + 3, 30)
            stats = det.camera_stats()[0]
            time.sleep(2.0)
            after = det.camera_stats()[0]
    finally:
        det.stop()
    news = [u for u in got if u.type == "new"]
    assert len(news) == 1 and news[0].after.label == "person"
    assert news[0].after.snapshot is not None
    assert door.counts == {"in": 1, "out": 0}
    assert after.status == "ok"
    # Still scene: looks happen (cheap motion checks) but inferences stop.
    assert after.looks > stats.looks
    assert after.inferences == stats.inferences, (stats, after)
    assert after.no_motion > stats.no_motion
    workers = det.pool.stats()
    assert workers[0].rss_mb > 10


def test_a_killed_worker_is_restarted_and_ingest_goes_on(hub) -> None:  # type: ignore[no-untyped-def]
    store, bus, _ = hub
    failures: list[str] = []
    det = ObjectDetection(
        store, bus, DetectorSpec("darknet"), labels=["person"], motion_gated=False, detect_fps=4.0
    )
    det.add_listener(lambda u: failures.append(u.status) if u.status == FAILED else None)
    det.start()
    try:
        with Feeder(store, "yard", walking()):
            wait_until(lambda: det.pool.workers[0].inferences >= 2, 60)
            pid = det.pool.workers[0].pid
            assert pid is not None
            frames_before = store.counts()["yard"]
            # Kill it while it works (it is busy most of the time at 4 fps).
            wait_until(lambda: det.pool.workers[0].state == "busy", 10)
            os.kill(pid, signal.SIGKILL)
            wait_until(lambda: det.pool.workers[0].restarts == 1, 30)
            wait_until(lambda: det.camera_stats()[0].status == FAILED or bool(failures), 10)
            wait_until(lambda: det.pool.workers[0].state in ("ready", "busy"), 60)
            wait_until(lambda: det.camera_stats()[0].status == "ok", 60)
            inferences = det.pool.workers[0].inferences
            wait_until(lambda: det.pool.workers[0].inferences > inferences, 30)
            frames_after = store.counts()["yard"]
    finally:
        det.stop()
    assert det.pool.workers[0].pid != pid
    assert failures, "viewers must be told that detection failed"
    assert frames_after > frames_before + 5  # ingest never stopped
    assert det.camera_stats()[0].failed == 1


def test_a_hung_worker_is_killed_and_restarted(hub) -> None:  # type: ignore[no-untyped-def]
    store, bus, _ = hub
    black = np.zeros((480, 640, 3), np.uint8)
    bg = background()
    dark = threading.Event()
    det = ObjectDetection(
        store,
        bus,
        DetectorSpec("sleepy_for_test", modules=("tests.detect.sleepy",)),
        motion_gated=False,
        detect_fps=5.0,
        job_timeout=3.0,
    ).start()
    try:
        with Feeder(store, "cellar", lambda t: black if dark.is_set() else bg):
            wait_until(lambda: det.pool.workers[0].inferences >= 1, 60)
            dark.set()
            wait_until(lambda: det.pool.workers[0].restarts >= 1, 30)
            assert "hung" in str(det.pool.workers[0].last_error)
            dark.clear()
            wait_until(lambda: det.camera_stats()[0].status == "ok", 60)
    finally:
        det.stop()


def test_a_model_that_cannot_load_fails_at_start_naming_the_file(hub, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store, bus, _ = hub
    det = ObjectDetection(store, bus, DetectorSpec("onnx", {"model": str(tmp_path / "gone.onnx")}))
    with pytest.raises(DetectorError, match=r"gone\.onnx does not exist"):
        det.start()
    assert all(w.state == "stopped" for w in det.pool.workers)


def test_asking_for_a_label_the_model_lacks_fails_at_start(hub) -> None:  # type: ignore[no-untyped-def]
    store, bus, _ = hub
    det = ObjectDetection(store, bus, DetectorSpec("darknet"), labels=["person", "unicorn"])
    with pytest.raises(DetectorError, match="does not know 'unicorn'"):
        det.start()


def test_objects_of_a_camera_that_goes_offline_end() -> None:
    bus = EventBus()
    store = CameraStore(bus, offline_after=1.0).start()
    got: list[EventUpdate] = []
    sub = bus.subscribe(got.append, name="test", kinds=(EventUpdate,))
    bg = background()
    person = cameraman()
    det = ObjectDetection(store, bus, DetectorSpec("darknet"), labels=["person"]).start()
    try:
        # Someone stands in view; then the camera stops sending.
        with Feeder(store, "gate", lambda t: render([Walker(person, 200, 200, 0, 99)], t, bg)[0]):
            wait_until(lambda: any(u.type == "new" for u in got), 60)
            assert not any(u.type == "end" for u in got)
        stopped = time.time()
        wait_until(lambda: any(u.type == "end" for u in got), 15)
    finally:
        det.stop()
        sub.close()
        store.stop()
    end = next(u for u in got if u.type == "end")
    assert end.after.end is not None and end.after.end <= stopped + 0.5


def test_due_cameras_are_batched_into_one_job_when_the_detector_takes_batches(
    hub,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    store, bus, _ = hub
    log = tmp_path / "batches.txt"
    det = ObjectDetection(
        store,
        bus,
        DetectorSpec("batchy_for_test", {"log": str(log)}, modules=("tests.detect.batchy",)),
        motion_gated=False,
        detect_fps=2.0,
    ).start()
    assert det.pool.batch_size == 4
    feeders = [Feeder(store, f"cam{i}", walking(), fps=10) for i in range(4)]
    try:
        for f in feeders:
            f.__enter__()
        wait_until(lambda: log.exists() and "4" in log.read_text().split(), 60)
        wait_until(
            lambda: len(det.camera_stats()) == 4 and all(c.inferences for c in det.camera_stats()),
            30,
        )
    finally:
        for f in feeders:
            f.__exit__()
        det.stop()
    sizes = [int(line.split()[1]) for line in log.read_text().splitlines()]
    assert max(sizes) == 4 and all(1 <= s <= 4 for s in sizes)


def test_an_onnx_model_runs_in_the_workers(hub, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.detect.onnx_models import fall_model

    store, bus, got = hub
    model = fall_model(tmp_path)
    det = ObjectDetection(
        store, bus, DetectorSpec("onnx", {"model": str(model)}), labels=["Normal"]
    ).start()
    try:
        assert det.pool.labels == ["Normal", "Fall"] and det.pool.input_size == (640, 640)
        with Feeder(store, "ward", walking(period=100.0), fps=10):
            wait_until(lambda: any(u.type == "new" for u in got), 90, what=lambda: det.stats())
    finally:
        det.stop()
    assert next(u for u in got if u.type == "new").after.label == "Normal"


def test_two_workers_share_the_cameras_one_frame_in_flight_each(hub) -> None:  # type: ignore[no-untyped-def]
    store, bus, _ = hub
    det = ObjectDetection(
        store, bus, DetectorSpec("darknet"), workers=2, motion_gated=False, detect_fps=5.0
    ).start()
    in_flight_max: list[int] = []
    feeders = [Feeder(store, f"cam{i}", walking(), fps=10) for i in range(3)]
    try:
        for f in feeders:
            f.__enter__()
        deadline = time.monotonic() + 60

        def done() -> bool:
            # Cameras feed 10 fps and are looked at 5 times a second: each skips frames.
            return all(w.inferences >= 3 for w in det.pool.workers) and all(
                c.skipped > 0 for c in det.camera_stats()
            )

        while time.monotonic() < deadline and not done():
            cams = det.camera_stats()
            in_flight_max.append(sum(1 for c in cams if c.in_flight))
            time.sleep(0.02)
    finally:
        for f in feeders:
            f.__exit__()
        det.stop()
    assert all(w.inferences >= 3 for w in det.pool.workers), det.pool.stats()
    assert len({w.pid for w in det.pool.workers}) == 2
    # Never more cameras waiting on a worker than there are workers (batch size 1).
    assert max(in_flight_max) <= 2
    assert all(c.skipped > 0 for c in det.camera_stats())


@pytest.mark.parametrize("gated", [True, False])
def test_cameras_without_a_picture_form_are_skipped_and_the_others_detected(
    hub,  # type: ignore[no-untyped-def]
    gated: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """imagezmq peers may send PNG through send_jpg, 1-D or float arrays, or frames
    without a size; detection skips those cameras, never stalls on them."""
    store, bus, _ = hub
    det = ObjectDetection(
        store, bus, DetectorSpec("darknet"), labels=["person"], motion_gated=gated, detect_fps=4.0
    )
    det.start()
    odd = [
        Frame("png", payload=b"\x89PNG\r\n\x1a\n" + bytes(64)),
        Frame("vector", array=np.arange(10, dtype=np.uint8)),
        Frame("floats", array=np.random.default_rng(0).random((48, 64, 3))),
    ]
    try:
        with Feeder(store, "yard", walking()):
            for i in range(40):
                for f in odd:
                    store.put(Frame(f.name, array=f.array, payload=f.payload, seq=i), "peer")
                unsized = encode_jpeg(walking()(i * 0.1))
                store.put(Frame("unsized", jpeg=unsized), "peer")  # no width/height stamped
                time.sleep(0.1)
            wait_until(
                lambda: (
                    det.pool.workers[0].inferences >= 4
                    and any(c.camera == "yard" and c.inferences for c in det.camera_stats())
                ),
                60,
            )
        stats = {c.camera: c for c in det.camera_stats()}
        assert all(not stats[n].in_flight for n in ("png", "vector", "floats"))
        assert "object detection loop error" not in caplog.text
    finally:
        det.stop()


class RecordingBus(EventBus):
    """The real bus, noting which thread published each object event's end."""

    def __init__(self) -> None:
        super().__init__()
        self.ended_on: list[str] = []

    def publish(self, message: object) -> None:
        if isinstance(message, EventUpdate) and message.type == "end":
            self.ended_on.append(threading.current_thread().name)
        super().publish(message)


def test_a_camera_going_offline_is_handled_by_the_detection_thread() -> None:
    """The bus only notes the offline camera; the loop that dispatches looks changes the
    camera's state (no second thread changing tracks under the dispatcher's feet)."""
    bus = RecordingBus()
    store = CameraStore(bus, offline_after=1.0).start()
    got: list[EventUpdate] = []
    sub = bus.subscribe(got.append, name="test", kinds=(EventUpdate,))
    lamp = np.zeros((480, 640, 3), np.uint8)
    lamp[200:260, 300:340] = 255
    det = ObjectDetection(
        store,
        bus,
        DetectorSpec("blobs_for_test", modules=("tests.detect.blobs",)),
        labels=["lamp"],
        motion_gated=False,
    ).start()
    try:
        with Feeder(store, "hall", lambda t: lamp):
            wait_until(lambda: any(u.type == "new" for u in got), 60, what=lambda: det.stats())
        wait_until(lambda: bool(bus.ended_on), 15, what=lambda: det.stats())
    finally:
        det.stop()
        sub.close()
        store.stop()
    assert bus.ended_on[0] == "camhub-detect", bus.ended_on
    end = next(u for u in got if u.type == "end")
    assert end.after.label == "lamp" and end.after.box is not None
    assert all(abs(a - b) <= 3 for a, b in zip(end.after.box, (300, 200, 40, 60), strict=True))
