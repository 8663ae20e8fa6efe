"""What `camhub send` tells the user when the hub is away or refuses it, and how fast it
stops then."""

from __future__ import annotations

import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import camhub
from camhub.agent import Agent, CameraJob
from camhub.security import CurveClient, CurveServer, write_key_pair
from tests.cli_proc import Proc
from tests.conftest import wait_until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def agents() -> Iterator[list[Agent]]:
    started: list[Agent] = []
    yield started
    for agent in started:
        agent.stop()


def test_refused_key_is_reported_as_refused_not_as_hub_down(
    tmp_path: Path, agents: list[Agent]
) -> None:
    keys = tmp_path / "keys"
    for name in ("hub", "cam", "intruder"):
        write_key_pair(keys, name)
    (tmp_path / "ok").mkdir()
    shutil.copy(keys / "cam.key", tmp_path / "ok" / "cam.key")
    server = CurveServer(keys / "hub.key_secret", tmp_path / "ok", reload_interval=None)
    with camhub.Hub("tcp://127.0.0.1:0", security=server) as hub:
        intruder = CurveClient(keys / "hub.key", keys / "intruder.key_secret")
        agent = Agent(hub.endpoint, [CameraJob("evil", "testsrc:64x48@10")], security=intruder)
        agents.append(agent.start())
        worker = agent.workers[0]
        wait_until(lambda: worker.state == "refused", timeout=15)
        line = worker.status_line()
        assert " refused " in line and "key" in line, line
        assert "not answering" not in line and "hub down" not in line, line


def test_agent_with_its_hub_down_stops_at_once(dead_port: int, agents: list[Agent]) -> None:
    agent = Agent(
        f"tcp://127.0.0.1:{dead_port}",
        [CameraJob(f"cam-{i}", "testsrc:64x48@15") for i in range(3)],
        send_timeout=1.0,
    ).start()
    agents.append(agent)
    wait_until(lambda: all(w.state == "hub down" for w in agent.workers), timeout=20)
    # From the next frame on, every send waits up to 600 s for the absent hub. Before,
    # stop() waited each one out; now it interrupts them. The join below only tells
    # "interrupted" from "waits out 600 s", so machine load cannot decide it.
    for worker in agent.workers:
        assert isinstance(worker._sender, camhub.Sender)
        worker._sender.timeout = 600.0
    # Let the 1 s waits under way end (if this is too short on a loaded machine, some
    # camera is still in a short wait: the test then checks less, it never fails wrongly).
    time.sleep(1.5)
    stopper = threading.Thread(target=agent.stop, daemon=True)
    stopper.start()
    stopper.join(30)
    assert not stopper.is_alive(), "stop() is waiting out the send timeout"
    assert not agent.running


def test_cli_send_with_its_hub_down_stops_on_ctrl_c(dead_port: int) -> None:
    # How fast is the test above (the CLI's Ctrl-C calls the same Agent.stop); this
    # one checks the CLI's side: a clean exit that is not reported as an outage.
    proc = Proc("send", "testsrc:64x48@10", "--name", "lonely",
                "--hub", f"tcp://127.0.0.1:{dead_port}")  # fmt: skip
    try:
        proc.expect(r"not reachable", timeout=20)
        proc.p.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
    finally:
        proc.kill()
    assert "stopped answering" not in "".join(proc.lines)  # stopping is not an outage


@pytest.mark.skipif(Path("/dev/video9").exists(), reason="needs /dev/video9 to be absent")
def test_missing_webcam_prints_no_raw_opencv_warnings(dead_port: int) -> None:
    proc = Proc("send", "9", "--name", "nocam", "--hub", f"tcp://127.0.0.1:{dead_port}")
    try:
        proc.expect(r"cannot open webcam 9", timeout=20)
        time.sleep(2.0)  # several retries, each of which used to print OpenCV's warnings
        proc.p.send_signal(signal.SIGINT)
        proc.wait(10)
    finally:
        proc.kill()
    output = "".join(proc.lines)
    assert "[ WARN" not in output and "cap_v4l" not in output, output
