"""``camhub hub`` and ``camhub demo`` as real processes: start, serve, stop on signals."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

import camhub
from tests.cli_proc import Proc, run_cli

pytestmark = pytest.mark.timeout(90)


def _send(endpoint: str, name: str, count: int) -> None:
    jpeg = camhub.encode_jpeg(np.full((48, 64, 3), 100, np.uint8))
    with camhub.Sender(endpoint) as sender:
        for _ in range(count):
            sender.send_jpeg(name, jpeg)
        assert sender.flush(5)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_hub_serves_and_stops_cleanly_on_signal(sig: signal.Signals) -> None:
    proc = Proc(
        "hub",
        "--bind",
        "tcp://127.0.0.1:0",
        "--web",
        "127.0.0.1:0",
        "--status-every",
        "0.5",
        "--offline-after",
        "1",
    )
    try:
        url = proc.expect(r"dashboard at (http://\S+)").group(1)
        endpoint = proc.expect(r"receiving on (tcp://\S+)").group(1)
        _send(endpoint, "cli-cam", 5)
        proc.expect(r"camera cli-cam connected")
        proc.expect(r"camera cli-cam: online, .*64x48.*5 frames")
        data = httpx.get(url + "api/cameras", timeout=5).json()
        assert [c["name"] for c in data["cameras"]] == ["cli-cam"]
        proc.expect(r"camera cli-cam offline since", timeout=10)
        proc.p.send_signal(sig)
        assert proc.wait(30) == 0  # (a ceiling against a hang, not a speed bound)
        proc.expect(r"camhub hub: stopped", timeout=5)
    finally:
        proc.kill()


def test_hub_stops_on_sigterm_while_a_viewer_streams() -> None:
    proc = Proc(
        "hub", "--bind", "tcp://127.0.0.1:0", "--web", "127.0.0.1:0", "--processor", "motion"
    )
    try:
        url = proc.expect(r"dashboard at (http://\S+)").group(1)
        endpoint = proc.expect(r"receiving on (tcp://\S+)").group(1)
        _send(endpoint, "v", 3)
        with (
            httpx.Client(timeout=5) as client,
            client.stream("GET", url + "api/cameras/v/stream.mjpg") as stream,
        ):
            next(stream.iter_bytes())
            proc.p.send_signal(signal.SIGTERM)
            assert proc.wait() == 0
    finally:
        proc.kill()


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--web", "0.0.0.0:0"], {}, "refusing to serve the dashboard on 0.0.0.0"),
        (["--web", "0.0.0.0:0", "--web-expose"], {"CAMHUB_WEB_TOKEN": ""}, "needs a token"),
        (["--web", "nonsense"], {}, "--web: bad dashboard address"),
        (["--processor", "nope"], {}, "unknown processor 'nope' \\(known: motion"),
        (["--offline-after", "0"], {}, "--offline-after must be positive"),
        (["--bind", "tcp://nohost"], {}, "--bind: bad hub bind address"),
        (["--web-token-file", "/nonexistent/token"], {}, "cannot read --web-token-file"),
        (["--record-labels", ","], {}, "--record-labels: .*at least 1 item"),
    ],
)
def test_hub_bad_options_are_clear_errors(
    args: list[str],
    env: dict[str, str],
    message: str,
    taken_ports: tuple[int, int],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    # A taken port: were an option let through, the hub would stop at once ("in use").
    bind = f"tcp://127.0.0.1:{taken_ports[0]}"
    code, err = run_cli(capsys, "hub", "--bind", bind, "--no-data", *args)
    assert code == 2
    assert re.search(message, err), err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (["--detect", "person", "--model", "{tmp}/mine.onnx"], "model file .*mine.onnx does not exist"),
        (["--web-token-file", "{tmp}/token"], "cannot read --web-token-file"),
        (["--secret-key", "{tmp}/hub.key_secret", "--authorized-keys", "{tmp}"], "does not exist"),
        (["--web", "0.0.0.0:{web}"], "refusing to serve the dashboard"),
        (["--offline-after", "0"], "--offline-after must be positive"),
        (["--phones", "--no-web"], "phones need the dashboard"),
    ],
)  # fmt: skip
def test_a_bad_option_binds_nothing_creates_nothing_and_warns_of_nothing(
    bad: list[str],
    message: str,
    tmp_path: Path,
    taken_ports: tuple[int, int],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    zmq_port, web_port = taken_ports
    data = tmp_path / "data"
    bad = [x.format(tmp=tmp_path, web=web_port) for x in bad]
    code, err = run_cli(
        capsys, "hub", "--bind", f"tcp://127.0.0.1:{zmq_port}", "--web", f"127.0.0.1:{web_port}",
        "--data", str(data), "--record", "events", *bad,
    )  # fmt: skip
    assert code == 2
    assert re.search(message, err), err  # the option's own error, not "in use"
    assert not data.exists()
    assert "WITHOUT encryption" not in caplog.text


def test_good_options_reach_the_ports(
    tmp_path: Path,
    taken_ports: tuple[int, int],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The check above can fail: with nothing wrong, the hub warns and then tries the
    (taken) port."""
    zmq_port, _ = taken_ports
    code, err = run_cli(capsys, "hub", "--bind", f"tcp://127.0.0.1:{zmq_port}", "--no-data")
    assert code == 2 and "Address already in use" in err, err
    assert "WITHOUT encryption" in caplog.text


def test_hub_exposed_with_token_file(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("tok-from-file\n")
    proc = Proc(
        "hub",
        "--bind",
        "tcp://127.0.0.1:0",
        "--web",
        "0.0.0.0:0",
        "--web-expose",
        "--web-token-file",
        str(token),
    )
    try:
        url = proc.expect(r"dashboard at (http://\S+)").group(1)
        assert httpx.get(url + "api/cameras", timeout=5).status_code == 401
        ok = httpx.get(
            url + "api/cameras", headers={"Authorization": "Bearer tok-from-file"}, timeout=5
        )
        assert ok.status_code == 200
        proc.p.send_signal(signal.SIGTERM)
        assert proc.wait() == 0
        assert "tok-from-file" not in "".join(proc.lines)  # credentials never logged
    finally:
        proc.kill()


def test_demo_runs_cameras_and_dashboard_then_stops() -> None:
    proc = Proc(
        "demo",
        "--cameras",
        "3",
        "--size",
        "160x120",
        "--fps",
        "10",
        "--web",
        "127.0.0.1:0",
        "--duration",
        "4",
        "--no-detect",  # detection has its own test (tests/events/test_demo.py)
    )
    try:
        url = proc.expect(r"open the dashboard at (http://\S+)").group(1)
        deadline = time.monotonic() + 10
        while True:
            cams = httpx.get(url + "api/cameras", timeout=5).json()["cameras"]
            if len(cams) == 3 and all(c["frames"] >= 5 for c in cams):
                break
            assert time.monotonic() < deadline, cams
            time.sleep(0.2)
        assert {c["width"] for c in cams} == {160}
        motion = [c for c in cams if c["processors"]]
        assert [c["name"] for c in motion] == ["front-door"]
        shots = [
            httpx.get(url + f"api/cameras/{c['name']}/snapshot.jpg", timeout=5).content
            for c in cams
        ]
        assert all(s[:2] == b"\xff\xd8" for s in shots)
        # Different places, not one test pattern three times: mean colours differ clearly.
        means = [camhub.decode_jpeg(s).reshape(-1, 3).mean(axis=0) for s in shots]
        for i in range(len(means)):
            for j in range(i + 1, len(means)):
                assert abs(means[i] - means[j]).max() > 15, (i, j, means)
        assert proc.wait(20) == 0
        proc.expect(r"camhub demo: stopped", timeout=1)
    finally:
        proc.kill()


@pytest.mark.parametrize("command", ["hub", "demo"])
def test_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_cli(capsys, command, "--help")
    assert code == 0 and "usage: camhub " + command in out
