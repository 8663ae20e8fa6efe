"""What `camhub send` tells the user when the hub is away or refuses it, and how fast it
stops then."""

from __future__ import annotations

import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import camhub
from camhub.agent import Agent, CameraJob
from camhub.security import CurveClient, CurveServer, write_key_pair
from tests.cli_proc import Proc
from tests.conftest import wait_until
from tests.servers.ports import free_port

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


def test_agent_with_its_hub_down_stops_at_once(agents: list[Agent]) -> None:
    agent = Agent(
        f"tcp://127.0.0.1:{free_port()}",
        [CameraJob(f"cam-{i}", "testsrc:64x48@15") for i in range(3)],
        send_timeout=5.0,
    ).start()
    agents.append(agent)
    wait_until(lambda: all(w.state == "hub down" for w in agent.workers), timeout=20)
    time.sleep(0.3)  # well inside a 5 s send wait
    began = time.monotonic()
    agent.stop()
    took = time.monotonic() - began
    assert not agent.running
    # Before: each camera waited out its send timeout (5 s here, 2 s by default).
    assert took < 1.0, f"stopping took {took:.2f} s"


def test_cli_send_with_its_hub_down_stops_fast_on_ctrl_c() -> None:
    proc = Proc("send", "testsrc:64x48@10", "--name", "lonely",
                "--hub", f"tcp://127.0.0.1:{free_port()}")  # fmt: skip
    try:
        proc.expect(r"not reachable", timeout=20)
        time.sleep(0.5)
        began = time.monotonic()
        proc.p.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
        took = time.monotonic() - began
    finally:
        proc.kill()
    assert took < 2.0, f"Ctrl-C took {took:.2f} s (was 3.4 s)"
    assert "stopped answering" not in "".join(proc.lines)  # stopping is not an outage


@pytest.mark.skipif(Path("/dev/video9").exists(), reason="needs /dev/video9 to be absent")
def test_missing_webcam_prints_no_raw_opencv_warnings() -> None:
    proc = Proc("send", "9", "--name", "nocam", "--hub", f"tcp://127.0.0.1:{free_port()}")
    try:
        proc.expect(r"cannot open webcam 9", timeout=20)
        time.sleep(2.0)  # several retries, each of which used to print OpenCV's warnings
        proc.p.send_signal(signal.SIGINT)
        proc.wait(10)
    finally:
        proc.kill()
    output = "".join(proc.lines)
    assert "[ WARN" not in output and "cap_v4l" not in output, output
