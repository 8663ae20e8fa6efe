"""Detection on a real two-node Ray cluster through the hub's own detection path:
placement, growth, losing a node, losing the whole cluster.

Run alone with ``pytest -m ray``. Start-up dominates (two ``ray start`` plus one model load
per actor); the assertions are about counts and places, with generous time limits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from camhub.bus import EventBus
from camhub.detect.pool import DetectorSpec
from camhub.detect.scheduler import ObjectDetection
from camhub.distributed import RayOptions, RayPool
from camhub.events.model import EventUpdate
from camhub.jpeg import encode_jpeg
from camhub.store import CameraStore
from camhub.types import Frame
from tests.cli_proc import Proc
from tests.conftest import wait_until
from tests.detect.photos import photo
from tests.detect.test_job import lamp_frame
from tests.distributed.cluster import Cluster, start_cluster

pytestmark = [pytest.mark.ray, pytest.mark.timeout(300)]

CAMERAS = {"porch": "astronaut", "garden": "chelsea", "door": "astronaut", "shed": "chelsea"}
WANTED = {"astronaut": "person", "chelsea": "cat"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = start_cluster(tmp_path_factory.mktemp("ray"))
    with pytest.MonkeyPatch.context() as mp:
        for key, value in c.env.items():
            if key.startswith("RAY_"):
                mp.setenv(key, value)  # the hub's Ray driver joins with the same token
        try:
            yield c
        finally:
            c.stop()


class Feeder:
    """Four cameras at ~8 fps each, real photographs, straight into the store."""

    def __init__(self, store: CameraStore) -> None:
        self.store = store
        self.jpegs = {name: encode_jpeg(photo(p)) for name, p in CAMERAS.items()}
        # As the receiver does: a JPEG frame knows its size from its header.
        self.sizes = {name: photo(p).shape[:2] for name, p in CAMERAS.items()}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        seq = 0
        while not self.stop.wait(0.125):
            seq += 1
            for name, jpeg in self.jpegs.items():
                h, w = self.sizes[name]
                self.store.put(Frame(name, jpeg=jpeg, seq=seq, width=w, height=h), "feeder")


def inferences(det: ObjectDetection) -> dict[str, int]:
    return {str(c.camera): int(c.inferences) for c in det.camera_stats()}


def failed(det: ObjectDetection) -> int:
    return sum(int(c.failed) for c in det.camera_stats())


def all_advanced(det: ObjectDetection, before: dict[str, int]) -> bool:
    now = inferences(det)
    return all(now.get(name, 0) > before.get(name, 0) for name in CAMERAS)


def lamps(det: ObjectDetection, store: CameraStore, bus: EventBus, n: int) -> None:
    """Feed a lamp until ``n`` looks came back."""
    got: list[EventUpdate] = []
    sub = bus.subscribe(got.append, name="test", kinds=(EventUpdate,))
    jpeg = encode_jpeg(lamp_frame((400, 300, 60, 40)))
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and sum(inferences(det).values()) < n:
            store.put(Frame("hall", jpeg=jpeg, width=640, height=480), "test")
            time.sleep(0.1)
        assert sum(inferences(det).values()) >= n, det.stats()
        wait_until(lambda: any(u.after.label == "lamp" for u in got), 10, what=lambda: det.stats())
    finally:
        sub.close()


def test_a_ray_client_address_works(cluster: Cluster) -> None:
    """``ray://HOST:PORT`` (the head's Ray Client server) serves detection as HOST:PORT
    does: the driver is a Ray Client, the actors run on the cluster."""
    bus = EventBus()
    store = CameraStore(bus).start()
    spec = DetectorSpec("blobs_for_test", modules=("tests.detect.blobs",))
    pool = RayPool(spec, RayOptions(address=cluster.client_address, num_cpus=0.5))
    det = ObjectDetection(store, bus, spec, labels=["lamp"], motion_gated=False, pool=pool)
    try:
        det.start()
        lamps(det, store, bus, 3)
        assert pool.state == "running" and pool.lost == 0, pool.health()
        assert all(a.node_id not in ("", "local") for a in pool.stats()), pool.health()
    finally:
        det.stop()
        store.stop()


def test_a_cold_actor_warms_up_before_it_takes_calls(cluster: Cluster) -> None:
    """A model whose first inference takes longer than the call timeout (as a real one
    does on a busy machine) must not be taken for a hung actor: it warms up first."""
    bus = EventBus()
    store = CameraStore(bus).start()
    spec = DetectorSpec("blobs_for_test", {"cold_s": 5.0}, modules=("tests.detect.blobs",))
    options = RayOptions(address=cluster.address, num_cpus=0.5, call_timeout=2.0)
    pool = RayPool(spec, options)
    det = ObjectDetection(store, bus, spec, labels=["lamp"], motion_gated=False, pool=pool)
    try:
        det.start()
        lamps(det, store, bus, 5)
        actors = pool.stats()
        assert pool.lost == 0 and all(a.failures == 0 for a in actors), pool.health()
        assert all(a.restarts == 0 for a in actors), pool.health()
    finally:
        det.stop()
        store.stop()


def test_the_hub_shows_its_dashboard_while_it_waits_and_stops_at_once_on_sigterm(
    cluster: Cluster,
) -> None:
    """Actors no node can take (a resource nobody has): the hub waits for the cluster
    with its dashboard up, and SIGTERM ends the wait at once."""
    proc = Proc(
        "hub",
        "--bind",
        "tcp://127.0.0.1:0",
        "--web",
        "127.0.0.1:0",
        "--detect",
        "person",
        "--detect-on",
        "ray",
        "--ray-address",
        cluster.address,
        "--ray-resources",
        '{"nowhere": 1}',
    )
    try:
        url = proc.expect(r"dashboard at (http://\S+)", timeout=60).group(1)
        proc.expect(r"waiting for detector actors on the Ray cluster at", timeout=10)
        api = httpx.get(url + "api/objects", timeout=10).json()
        assert api["cluster"]["state"] == "connecting", api
        proc.p.terminate()
        assert proc.wait(20) == 0, proc.lines
        proc.expect(r"camhub hub: stopped", timeout=1)
    finally:
        proc.kill()


def test_an_address_where_no_cluster_listens_is_refused_at_once() -> None:
    proc = Proc(
        "hub",
        "--bind",
        "tcp://127.0.0.1:0",
        "--no-web",
        "--detect",
        "person",
        "--detect-on",
        "ray",
        "--ray-address",
        "127.0.0.1:1",
    )
    try:
        assert proc.wait(30) == 2, proc.lines  # not ray.init's 90 s of retries
        proc.expect(
            r"error: cannot reach the Ray cluster at 127.0.0.1:1: Connection refused; is a Ray "
            r"head node \(ray start --head --port=1\) running there",
            timeout=1,
        )
        assert not any("Traceback" in line for line in proc.lines)
    finally:
        proc.kill()


def test_detection_spreads_over_both_nodes_survives_losing_one_and_falls_back(
    cluster: Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    bus = EventBus()
    store = CameraStore(bus).start()
    events: list[EventUpdate] = []
    sub = bus.subscribe(events.append, name="test", kinds=(EventUpdate,))
    feeder = Feeder(store)
    options = RayOptions(
        address=cluster.address,
        actors=1,
        # Half a CPU each: the actor that Ray restarts after its node dies fits on the head.
        num_cpus=0.5,
        call_timeout=6.0,
        connect_timeout=120.0,
        fallback_after=4.0,
        retry_every=600.0,  # this test does not bring the cluster back
    )
    spec = DetectorSpec("darknet")
    pool = RayPool(spec, options)
    # The photographs never move: motion gating would (rightly) skip them after one look.
    det = ObjectDetection(
        store, bus, spec, labels=["person", "cat"], detect_fps=8, motion_gated=False, pool=pool
    )
    feeder.thread.start()
    try:
        det.start()
        pool.grow(1)  # grows while running; SPREAD puts it on the other node
        wait_until(
            lambda: (
                sum(a.state in ("ready", "busy") and bool(a.inferences) for a in pool.stats()) == 2
            ),
            timeout=120,
            what=lambda: pool.health(),
        )
        nodes = {a.node_id for a in pool.stats()}
        assert len(nodes) == 2, f"actors not spread over both nodes: {pool.health()}"

        # Real detections on both nodes turn into tracked objects and events, per camera.
        def labels_by_camera() -> dict[str, set[str]]:
            out: dict[str, set[str]] = {}
            for u in list(events):
                out.setdefault(u.after.camera, set()).add(u.after.label)
            return out

        expected = {name: {WANTED[p]} for name, p in CAMERAS.items()}
        wait_until(
            lambda: labels_by_camera() == expected, timeout=60, what=lambda: labels_by_camera()
        )

        node2_pids = {p.pid for p in cluster.nodes[1].processes()}
        head_node = next(str(a.node_id) for a in pool.stats() if a.pid not in node2_pids)
        before, failed_before = inferences(det), failed(det)
        killed_at = time.monotonic()
        assert cluster.nodes[1].kill() > 0

        # Every camera gets detections again within 10 s, from the head's actor.
        wait_until(lambda: all_advanced(det, before), timeout=10, what=lambda: pool.health())
        after_kill = inferences(det)
        wait_until(lambda: all_advanced(det, after_kill), timeout=10, what=lambda: pool.health())
        recovered_in = time.monotonic() - killed_at
        # The frames that were on the dead node are counted as lost, not forgotten.
        wait_until(
            lambda: pool.lost > 0 and failed(det) > failed_before,
            10,
            what=lambda: (
                pool.health(),
                det.camera_stats(),
            ),
        )
        assert any(a.failures for a in pool.stats()), pool.health()

        # Ray restarts the lost actor (max_restarts) on the surviving node: capacity is back.
        wait_until(
            lambda: (
                all(a.node_id == head_node for a in pool.stats())
                and any(a.restarts for a in pool.stats())
                and all(a.state in ("ready", "busy") for a in pool.stats())
            ),
            timeout=90,
            what=lambda: pool.health(),
        )
        served = {a.worker: a.inferences for a in pool.stats()}
        wait_until(
            lambda: all(a.inferences > served[a.worker] for a in pool.stats()),
            timeout=30,
            what=lambda: pool.health(),
        )
        assert pool.state == "running"
        print(f"detection back on every camera {recovered_in:.1f} s after the node died")

        # The whole cluster goes: loud error, local detection takes over, ingest goes on.
        frames_before = sum(s.frames for s in store.stats())
        assert cluster.nodes[0].kill() > 0
        wait_until(lambda: pool.state == "fallback", timeout=30, what=lambda: pool.health())
        assert "DETECTION CLUSTER LOST" in caplog.text
        wait_until(
            lambda: {a.node_id for a in pool.stats()} == {"local"}, 60, what=lambda: pool.health()
        )
        in_fallback = inferences(det)
        wait_until(lambda: all_advanced(det, in_fallback), timeout=30, what=lambda: pool.health())
        assert pool.fallbacks == 1
        assert sum(s.frames for s in store.stats()) > frames_before + 20
    finally:
        feeder.stop.set()
        det.stop()
        sub.close()
        store.stop()
    assert pool.state == "stopped"
