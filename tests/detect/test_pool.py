"""The local worker pool on its own: looks fitted on the hub and passed through shared
memory, a backend written as one test module, and how a killed worker is reported."""

import os
import signal
import time
from collections.abc import Iterator

import numpy as np
import pytest

from camhub.detect import detector_configs
from camhub.detect.pool import DetectorPool, DetectorSpec, JobDone
from camhub.jpeg import encode_jpeg
from camhub.types import Frame
from tests.conftest import wait_until
from tests.detect.test_job import lamp_frame

BLOBS = DetectorSpec("blobs_for_test", modules=("tests.detect.blobs",))


@pytest.fixture
def pool() -> Iterator[DetectorPool]:
    p = DetectorPool(BLOBS).start()
    yield p
    p.stop()


def answer(pool: DetectorPool) -> JobDone:
    got: list[JobDone] = []

    def polled() -> bool:
        got.extend(pool.poll(0.05))
        return bool(got)

    wait_until(polled, 30)
    return got[0]


def run(pool: DetectorPool, frames: list[Frame], regions: list[object]) -> JobDone:
    w = pool.free()
    assert w is not None
    looks = [pool.prepare(f, r) for f, r in zip(frames, regions, strict=True)]  # type: ignore[arg-type]
    job = pool.submit(w, looks, list(range(len(frames))))
    done = answer(pool)
    assert done.job is job and done.boxes is not None, done.error
    return done


def near(box: tuple[int, int, int, int], want: tuple[int, int, int, int]) -> bool:
    return all(abs(a - b) <= 3 for a, b in zip(box, want, strict=True))


def test_a_backend_in_one_test_module_runs_in_the_real_pool(pool: DetectorPool) -> None:
    assert pool.labels == ["lamp"] and pool.input_size == (320, 320) and pool.batch_size == 2
    image = lamp_frame((400, 300, 60, 40))
    raw = Frame("raw", array=image)
    jpeg = Frame("jpeg", jpeg=encode_jpeg(image, quality=95), width=640, height=480)
    done = run(pool, [raw, jpeg], [None, (360, 260, 160, 120)])
    assert done.boxes is not None
    for boxes in done.boxes:  # in frame pixels, whole frame or motion region
        assert [b.label for b in boxes] == ["lamp"]
        assert near(boxes[0].xywh, (400, 300, 60, 40)), boxes
    # A region that cuts the lamp finds the part inside it, still in frame pixels.
    cut = run(pool, [raw], [(430, 200, 200, 200)])
    assert cut.boxes is not None and near(cut.boxes[0][0].xywh, (430, 300, 30, 40))


def test_pixels_go_through_shared_memory_and_the_pipe_carries_small_messages(
    pool: DetectorPool,
) -> None:
    frame = Frame("raw", array=lamp_frame((100, 100, 50, 50), (1280, 720)))
    jobs = 10
    piped, shared = pool.piped_bytes, pool.shared_bytes
    for _ in range(jobs):
        run(pool, [frame, frame], [None, (0, 0, 640, 360)])
    per_job = (pool.piped_bytes - piped) / jobs
    # Two model inputs of 320x320x3 each, written once; a 1280x720 frame is 2.7 MB.
    assert pool.shared_bytes - shared == jobs * 2 * 320 * 320 * 3
    assert per_job < 512, per_job
    slots = pool.workers[0].slots
    assert slots is not None and slots.info.count == 2 and slots.info.size == (320, 320)


def test_the_config_section_sits_beside_the_backend_and_builds_its_spec() -> None:
    import tests.detect.blobs  # noqa: F401  (registers the backend, as a worker does)

    config = detector_configs()["blobs_for_test"].model_validate({"threshold": 120})
    spec = DetectorSpec.of(config, modules=("tests.detect.blobs",))
    assert spec.type_name == "blobs_for_test" and spec.options == {
        "threshold": 120,
        "input_size": 320,
        "cold_s": 0.0,
    }
    detector = spec.build()
    assert detector.labels == ["lamp"] and detector.threshold == 120  # type: ignore[attr-defined]


def test_a_killed_worker_is_reported_with_the_signal_that_killed_it() -> None:
    # YOLOv3-tiny that hangs on a black picture: the worker is busy when it is killed.
    pool = DetectorPool(DetectorSpec("sleepy_for_test", modules=("tests.detect.sleepy",)))
    pool.start()
    try:
        w = pool.free()
        assert w is not None and w.pid is not None
        dark = Frame("dark", array=np.zeros((480, 640, 3), np.uint8))
        pool.submit(w, [pool.prepare(dark)], ["dark"])
        pid = w.pid
        time.sleep(0.2)  # let it start on the job (it never finishes)
        os.kill(pid, signal.SIGKILL)
        done = answer(pool)
        assert done.boxes is None and done.error == "worker killed by SIGKILL"
        assert w.last_error == "worker killed by SIGKILL" and w.restarts == 1
    finally:
        pool.stop()
