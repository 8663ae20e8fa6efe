"""A real two-node Ray cluster on this machine, started with the ``ray`` CLI as a user would.

Each node has its own ``--temp-dir`` under the test's tmp dir, so its processes can be found
(and killed: "the node dies") by that path, without touching any other Ray on the machine.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from tests.conftest import free_port

RAY = str(Path(sys.executable).with_name("ray"))

# Notice a dead node in ~3 s instead of Ray's default ~15-30 s (GCS health checks).
FAST_FAILURE = {
    "RAY_health_check_period_ms": "1000",
    "RAY_health_check_timeout_ms": "1000",
    "RAY_health_check_failure_threshold": "3",
}


@dataclass
class Node:
    name: str
    temp_dir: Path

    def processes(self) -> list[psutil.Process]:
        """Every process of this node: those naming its temp dir, and their children
        (the actor worker processes, whose command line Ray rewrites)."""
        found: dict[int, psutil.Process] = {}
        for p in psutil.process_iter(["cmdline"]):
            try:
                if str(self.temp_dir) in " ".join(p.info["cmdline"] or ()):
                    found[p.pid] = p
                    for child in p.children(recursive=True):
                        found[child.pid] = child
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        return list(found.values())

    def kill(self) -> int:
        """SIGKILL the whole node at once, as a power cut would."""
        procs = self.processes()
        for p in procs:
            try:
                p.send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(procs, timeout=10)
        return len(procs)


@dataclass
class Cluster:
    address: str
    env: dict[str, str]
    nodes: list[Node] = field(default_factory=list)
    client_address: str = ""
    """``ray://127.0.0.1:PORT``: the head's Ray Client server."""

    def node_count(self) -> int:
        out = subprocess.run(
            [RAY, "status", "--address", self.address],
            capture_output=True,
            text=True,
            timeout=60,
            env=self.env,
        )
        active = out.stdout.partition("Active:")[2].partition("Pending:")[0]
        return active.count("node_")

    def stop(self) -> None:
        for node in reversed(self.nodes):
            node.kill()
        for folder in {node.temp_dir.parent for node in self.nodes}:
            shutil.rmtree(folder, ignore_errors=True)


def _ray_start(args: list[str], env: dict[str, str], log: Path) -> None:
    with log.open("ab") as out:
        proc = subprocess.run(
            [RAY, "start", *args], env=env, stdout=out, stderr=subprocess.STDOUT, timeout=120
        )
    if proc.returncode:
        raise RuntimeError(f"ray start {' '.join(args)} failed:\n{log.read_text()[-3000:]}")


def start_cluster(base: Path) -> Cluster:
    """Head node (1 CPU, a Ray Client server) plus a second node (1 CPU and a ``node2``
    resource)."""
    port, client_port = free_port(), free_port()
    env = dict(os.environ)
    # Ray 2.5x enables token authentication; every node and the hub's driver share one.
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(16), **FAST_FAILURE)
    env.pop("RAY_ADDRESS", None)
    # Test-only detector backends (tests/detect/blobs.py) must import on every node, as a
    # user's own backend module must: Ray workers inherit the node's environment. A
    # driver connected by HOST:PORT adds its own directory for its workers, a Ray Client
    # (ray://) driver runs on the head and does not.
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    address = f"127.0.0.1:{port}"
    cluster = Cluster(address, env, client_address=f"ray://127.0.0.1:{client_port}")
    # Ray's workers take ports from 10002-19999 unless told otherwise, and Ray refuses a
    # --port inside that range: free_port() hands out ports from 12000 up (below the
    # ephemeral range), so the workers get a range of their own above the slices.
    common = [
        "--node-ip-address=127.0.0.1",
        "--num-cpus=1",
        "--disable-usage-stats",
        "--min-worker-port=29000",
        "--max-worker-port=30999",
    ]
    # Ray's socket paths live under --temp-dir and must fit AF_UNIX's 107 bytes, which a
    # pytest-xdist tmp path ("/tmp/pytest-of-root/pytest-N/popen-gw0/ray1/head/session_
    # <date>_<pid>/sockets/plasma_store") does not: the nodes get a short dir of their own.
    short = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))
    (base / "nodes").write_text(f"{short}\n")
    head = Node("head", short / "head")
    cluster.nodes.append(head)
    try:
        _ray_start(
            [
                "--head",
                f"--port={port}",
                f"--ray-client-server-port={client_port}",
                "--include-dashboard=false",
                f"--temp-dir={head.temp_dir}",
                *common,
            ],
            env,
            base / "ray-start.log",
        )
        node2 = Node("node2", short / "node2")
        cluster.nodes.append(node2)
        _ray_start(
            [
                f"--address={address}",
                f"--temp-dir={node2.temp_dir}",
                '--resources={"node2": 1}',
                *common,
            ],
            env,
            base / "ray-start.log",
        )
        deadline = time.monotonic() + 60
        while cluster.node_count() < 2:
            if time.monotonic() > deadline:
                raise RuntimeError("the second Ray node did not join within 60 s")
            time.sleep(0.5)
    except BaseException:
        cluster.stop()
        raise
    return cluster
