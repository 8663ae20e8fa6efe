"""Detection on a real two-node Ray cluster: placement, growth, and losing a node.

Run alone with ``pytest -m ray``. Start-up dominates (two ``ray start`` plus one model load
per actor); the assertions are about counts and places, with generous time limits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from camhub.detect.base import Box
from camhub.distributed import RayDetection, RayOptions
from camhub.jpeg import encode_jpeg
from camhub.store import CameraStore
from camhub.types import Frame
from tests.conftest import wait_until
from tests.detect.photos import photo
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
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        seq = 0
        while not self.stop.wait(0.125):
            seq += 1
            for name, jpeg in self.jpegs.items():
                self.store.put(Frame(name, jpeg=jpeg, seq=seq), "feeder")


class Results:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.got: list[tuple[float, str, set[str]]] = []

    def __call__(self, frame: Frame, boxes: list[Box]) -> None:
        with self.lock:
            self.got.append((time.monotonic(), frame.name, {b.label for b in boxes}))

    def since(self, t: float) -> set[str]:
        with self.lock:
            return {name for at, name, _ in self.got if at > t}

    def labels(self, camera: str) -> set[str]:
        with self.lock:
            return set().union(*(labels for _, name, labels in self.got if name == camera))


def test_detection_spreads_over_both_nodes_survives_losing_one_and_falls_back(
    cluster: Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    store = CameraStore().start()
    feeder = Feeder(store)
    results = Results()
    options = RayOptions(
        address=cluster.address,
        actors=1,
        # Half a CPU each: the actor that Ray restarts after its node dies fits on the head.
        num_cpus=0.5,
        call_timeout=4.0,
        connect_timeout=120.0,
        fallback_after=4.0,
        retry_every=600.0,  # this test does not bring the cluster back
    )
    det = RayDetection(store, options, results)
    feeder.thread.start()
    try:
        det.start()
        det.grow(1)  # grows while running; SPREAD puts it on the other node
        assert wait_until(
            lambda: sum(a.state == "ready" and a.served > 0 for a in det.actors()) == 2,
            timeout=120,
        ), det.health()
        nodes = {a.node_id for a in det.actors()}
        assert len(nodes) == 2, f"actors not spread over both nodes: {det.health()}"

        # Real detections, each camera answered, on both nodes.
        assert wait_until(lambda: results.since(0) == set(CAMERAS), timeout=60)
        for camera, picture in CAMERAS.items():
            assert WANTED[picture] in results.labels(camera), (camera, results.labels(camera))
        assert "cat" not in results.labels("porch")
        assert "person" not in results.labels("garden")

        head_node = _node_of_head(det, cluster)
        lost_before = sum(c.lost for c in det.camera_stats())
        killed_at = time.monotonic()
        assert cluster.nodes[1].kill() > 0

        # Every camera gets detections again within 10 s, from the head's actor.
        assert wait_until(lambda: results.since(killed_at + 0.5) == set(CAMERAS), timeout=10), (
            results.since(killed_at),
            det.health(),
        )
        recovered_in = time.monotonic() - killed_at
        # The frames that were on the dead node are counted as lost, not forgotten.
        assert wait_until(lambda: sum(c.lost for c in det.camera_stats()) > lost_before, 10)
        down = [a for a in det.actors() if a.failures]
        assert down, det.health()

        # Ray restarts the lost actor (max_restarts) on the surviving node: capacity is back.
        assert wait_until(
            lambda: (
                all(a.state == "ready" and a.node_id == head_node for a in det.actors())
                and any(a.restarts for a in det.actors())
            ),
            timeout=90,
        ), det.health()
        served = {a.index: a.served for a in det.actors()}
        assert wait_until(
            lambda: all(a.served > served[a.index] for a in det.actors()), timeout=30
        ), det.health()
        assert det.state == "running"
        print(f"detection back on every camera {recovered_in:.1f} s after the node died")

        # The whole cluster goes: loud error, local detection takes over, ingest goes on.
        frames_before = sum(s.frames for s in store.stats())
        lost_before = sum(c.lost for c in det.camera_stats())
        gone_at = time.monotonic()
        assert cluster.nodes[0].kill() > 0
        assert wait_until(lambda: det.state == "fallback", timeout=30), det.health()
        assert wait_until(lambda: results.since(gone_at + 0.5) == set(CAMERAS), timeout=60), (
            det.health()
        )
        assert "DETECTION CLUSTER LOST" in caplog.text
        assert det.fallbacks == 1
        assert {a.node_id for a in det.actors()} == {"local"}
        assert sum(c.lost for c in det.camera_stats()) >= lost_before
        assert WANTED["astronaut"] in results.labels("porch")
        assert sum(s.frames for s in store.stats()) > frames_before + 20
    finally:
        feeder.stop.set()
        det.stop()
        store.stop()
    assert det.state == "stopped"


def _node_of_head(det: RayDetection, cluster: Cluster) -> str:
    """The node id of the head: the node whose actor is not on node2's processes."""
    node2_pids = {p.pid for p in cluster.nodes[1].processes()}
    heads = [a.node_id for a in det.actors() if a.pid not in node2_pids]
    assert len(heads) == 1, det.health()
    return heads[0]
