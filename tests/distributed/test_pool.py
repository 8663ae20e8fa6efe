"""RayPool's machinery without a cluster: options, the bridge process, losing it, falling
back to local detection and moving back. The "cluster" here is the bridge's local mode
(actors as threads, no Ray), so every step runs the real bridge, actor and detector."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from camhub.bus import EventBus
from camhub.detect import DetectorError
from camhub.detect.pool import DetectorSpec, JobDone
from camhub.detect.scheduler import ObjectDetection
from camhub.detect.stats import CameraDetectionStats
from camhub.distributed import ClusterError, RayOptions, RayPool, parse_resources
from camhub.distributed.options import NO_RAY
from camhub.events.model import EventUpdate
from camhub.jpeg import encode_jpeg
from camhub.store import CameraStore
from camhub.types import Frame
from tests.cli_proc import run_cli
from tests.conftest import wait_until
from tests.detect.photos import photo

pytestmark = pytest.mark.timeout(180)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"actors": 0}, "at least one detector actor"),
        ({"num_cpus": -1}, "must not be negative"),
        ({"depth": 0}, "depth must be at least 1"),
        ({"call_timeout": 0}, "call_timeout must be positive"),
        ({"address": "nowhere"}, "is not 'auto', HOST:PORT or ray://HOST:PORT"),
        ({"address": "ray://head:99999"}, "is not 'auto'"),
        ({"fallback": "cloud"}, "fallback must be 'local' or 'none'"),
    ],
)
def test_bad_options_are_refused_with_a_clear_message(
    options: dict[str, object], message: str
) -> None:
    with pytest.raises(ClusterError, match=message):
        RayOptions(**options)  # type: ignore[arg-type]


def test_address_comes_from_ray_address_when_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_ADDRESS", "ray://head.lan:10001")
    assert RayOptions(address="").address == "ray://head.lan:10001"
    monkeypatch.delenv("RAY_ADDRESS")
    assert RayOptions(address="").is_local


def test_resources_are_json_objects_of_numbers() -> None:
    assert parse_resources('{"detect": 2}') == {"detect": 2.0}
    for bad in ("detect=1", '["detect"]', '{"detect": "lots"}', '{"detect": -1}'):
        with pytest.raises(ClusterError, match="--ray-resources"):
            parse_resources(bad)


def test_actors_are_placed_by_resources_and_restarted_forever() -> None:
    opts = RayOptions(num_cpus=2, num_gpus=0.5, resources={"gpu_node": 1}).actor_options()
    assert opts["num_cpus"] == 2 and opts["num_gpus"] == 0.5
    assert opts["resources"] == {"gpu_node": 1}
    assert opts["max_restarts"] == -1 and opts["max_task_retries"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--detect-on", "ray"], "--detect-on ray needs --detect"),
        (["--detect", "person", "--ray-actors", "2"], "--ray-\\* options need --detect-on ray"),
        (
            ["--detect", "person", "--detect-on", "ray", "--ray-resources", "gpu"],
            "--ray-resources must be a JSON object",
        ),
    ],
)
def test_cli_errors_are_one_line(
    args: list[str], message: str, taken_bind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_cli(capsys, "hub", "--bind", taken_bind, "--no-web", "--no-data", *args)
    assert code == 2
    assert re.search(r"camhub hub: error: .*" + message, out), out
    assert "Traceback" not in out


class Feeder:
    def __init__(self, store: CameraStore) -> None:
        self.store = store
        img = photo("astronaut")
        self.jpeg, (self.h, self.w) = encode_jpeg(img), img.shape[:2]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.wait(0.1):
            self.store.put(Frame("porch", jpeg=self.jpeg, width=self.w, height=self.h), "feeder")


@pytest.fixture
def running() -> Iterator[tuple[CameraStore, list[EventUpdate], Feeder]]:
    bus = EventBus()
    store = CameraStore(bus).start()
    events: list[EventUpdate] = []
    sub = bus.subscribe(events.append, name="test", kinds=(EventUpdate,))
    feeder = Feeder(store)
    feeder.thread.start()
    yield store, events, feeder
    feeder.stop.set()
    sub.close()
    store.stop()


def looks(det: ObjectDetection) -> int:
    return sum(int(c.inferences) for c in det.camera_stats())


def test_losing_the_bridge_falls_back_loudly_then_moves_back(
    running: tuple[CameraStore, list[EventUpdate], Feeder], caplog: pytest.LogCaptureFixture
) -> None:
    store, events, _ = running
    spec = DetectorSpec("darknet")
    # The bridge's own local mode plays the cluster, so this runs without Ray.
    pool = RayPool(spec, RayOptions(address=NO_RAY, retry_every=10.0, fallback_after=3.0))
    det = ObjectDetection(
        store, store.bus, spec, labels=["person"], detect_fps=5, motion_gated=False, pool=pool
    )
    det.start()
    try:
        assert pool.labels[0] == "person" and pool.input_size == (416, 416)
        wait_until(lambda: any(u.after.label == "person" for u in events), 60)
        first = pool._bridge
        assert first is not None

        first.process.kill()  # what Ray does to a driver whose cluster vanished
        wait_until(lambda: pool.state == "fallback", 20, what=lambda: pool.health())
        assert "DETECTION CLUSTER LOST" in caplog.text
        assert pool.fallbacks == 1
        before = looks(det)
        wait_until(
            lambda: (
                pool.state == "fallback"
                and pool.stats()
                and all(a.backend == "local" for a in pool.stats())
                and looks(det) > before
            ),
            10,
            what=lambda: pool.health(),
        )

        # The "cluster" answers again: detection moves back to it by itself.
        wait_until(lambda: pool.state == "running", 40, what=lambda: pool.health())
        assert "is back: detection runs on it again" in caplog.text
        before = looks(det)
        wait_until(lambda: looks(det) > before + 2, 30, what=lambda: pool.health())
        assert pool._bridge is not first
    finally:
        det.stop()
    assert pool.state == "stopped"
    assert first.process.poll() is not None


def test_a_model_that_cannot_load_fails_at_start_naming_the_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    spec = DetectorSpec("onnx", {"model": str(tmp_path / "mine.onnx")})
    pool = RayPool(spec, RayOptions(address=NO_RAY, connect_timeout=60))
    with pytest.raises(DetectorError, match=r"mine\.onnx does not exist"):
        pool.start()
    pool.stop()


def dark_stats(det: ObjectDetection) -> CameraDetectionStats:
    return next(c for c in det.camera_stats() if c.camera == "dark")


def test_a_hung_actor_loses_its_frame_is_restarted_and_the_others_go_on(
    running: tuple[CameraStore, list[EventUpdate], Feeder],
) -> None:
    store, _, _ = running
    # Real YOLOv3-tiny that hangs forever on an all-black image (tests/detect/sleepy.py).
    spec = DetectorSpec("sleepy_for_test", modules=("tests.detect.sleepy",))
    pool = RayPool(spec, RayOptions(address=NO_RAY, actors=2, call_timeout=3.0))
    det = ObjectDetection(
        store, store.bus, spec, labels=["person"], detect_fps=5, motion_gated=False, pool=pool
    )
    det.start()
    try:
        wait_until(lambda: looks(det) >= 2, 60)
        black = encode_jpeg(np.zeros((480, 640, 3), np.uint8))
        store.put(Frame("dark", jpeg=black, width=640, height=480), "test")
        wait_until(lambda: pool.lost >= 1, 30, what=lambda: pool.health())
        hung = [a for a in pool.stats() if a.failures]
        assert len(hung) == 1 and "no answer within 3 s" in str(hung[0].last_error)
        # The pool counts the loss before the scheduler hears of it (its results queue).
        wait_until(lambda: dark_stats(det).failed >= 1, 10, what=lambda: dark_stats(det))
        assert dark_stats(det).failed == 1
        # Killed and started afresh (a new model instance), it serves again; the other
        # actor served the porch camera all along.
        wait_until(
            lambda: (
                all(a.state in ("ready", "busy") for a in pool.stats())
                and any(a.restarts for a in pool.stats())
            ),
            30,
            what=lambda: pool.health(),
        )
        served = {a.worker: a.inferences for a in pool.stats()}
        wait_until(
            lambda: all(a.inferences > served[a.worker] for a in pool.stats()),
            30,
            what=lambda: pool.health(),
        )
    finally:
        det.stop()


def test_actors_get_the_cameras_own_jpeg_and_the_region_and_crop_it_themselves() -> None:
    from camhub.distributed.looks import RemoteLook
    from tests.detect.test_job import lamp_frame

    spec = DetectorSpec("blobs_for_test", modules=("tests.detect.blobs",))
    pool = RayPool(spec, RayOptions(address=NO_RAY, connect_timeout=60))
    pool.start()
    try:
        image = lamp_frame((400, 300, 60, 40), (1280, 720))
        camera = Frame("jpeg", jpeg=encode_jpeg(image, quality=95), width=1280, height=720)
        raw = Frame("raw", array=image)  # no JPEG: the hub sends a JPEG of the region
        regions = [None, (360, 260, 160, 120), (300, 200, 900, 500)]
        looks = [pool.prepare(f, r) for f in (camera, raw) for r in regions]
        sent = [look for look in looks if isinstance(look, RemoteLook)]
        assert len(sent) == len(looks) and camera.jpeg is not None
        assert all(look.jpeg is camera.jpeg for look in sent[:3])
        assert pool.encoded == 3 and camera.array is None  # the hub decoded nothing
        # The region crops travel small: shrunk to the model's input before encoding.
        assert all(len(look.jpeg) < len(camera.jpeg) for look in sent[3:])
        answers: list[JobDone] = []

        def polled(until: Callable[[], bool]) -> Callable[[], bool]:
            def check() -> bool:  # the pool learns of free actors and answers by polling
                answers.extend(pool.poll(0.05))
                return until()

            return check

        for n, look in enumerate(looks):
            wait_until(polled(lambda: pool.free() is not None), 30, what=lambda: pool.health())
            worker = pool.free()
            assert worker is not None
            pool.submit(worker, [look], [look.region])
            wait_until(polled(lambda n=n: len(answers) > n), 30, what=lambda: pool.health())  # type: ignore[misc]
        for done in answers:
            assert done.boxes is not None, done.error
            [box] = done.boxes[0]
            assert box.label == "lamp", done.boxes
            assert all(
                abs(a - b) <= 3 for a, b in zip(box.xywh, (400, 300, 60, 40), strict=True)
            ), (
                done.job.items,
                box,
            )
    finally:
        pool.stop()
