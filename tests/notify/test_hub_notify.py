"""``camhub hub --mqtt ... --webhook ...`` end to end: a real hub process, a real sender,
a real broker and subscriber; sink health in /api/notify, /metrics and the status log."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import numpy as np
import pytest

import camhub
from camhub.notify.webhook import redact_url
from tests.cli_proc import Proc, run_cli
from tests.servers.mosquitto import Broker, Subscriber

pytestmark = pytest.mark.timeout(90)


def _send(endpoint: str, name: str, count: int) -> None:
    jpeg = camhub.encode_jpeg(np.full((48, 64, 3), 100, np.uint8))
    with camhub.Sender(endpoint) as sender:
        for _ in range(count):
            sender.send_jpeg(name, jpeg)
        assert sender.flush(5)


def test_hub_publishes_camera_states_and_shows_sink_health(
    dead_port: int, broker: Broker, subscriber: Subscriber, tmp_path: Path
) -> None:
    dead_hook = f"http://127.0.0.1:{dead_port}/hook"
    config = tmp_path / "hub.toml"
    config.write_text(
        f'[mqtt]\nhost = "nowhere.invalid"\nqos = 1\n\n[[webhooks]]\nurl = "{dead_hook}"\n'
    )
    proc = Proc(
        "hub",
        "--config",
        str(config),
        "--bind",
        "tcp://127.0.0.1:0",
        "--web",
        "127.0.0.1:0",
        "--offline-after",
        "1",
        "--status-every",
        "0.5",
        "--mqtt",
        f"127.0.0.1:{broker.port}",  # overrides the config's host, keeps its qos
    )
    try:
        url = proc.expect(r"dashboard at (http://\S+)").group(1)
        endpoint = proc.expect(r"receiving on (tcp://\S+)").group(1)
        assert subscriber.wait_for("camhub/available").payload == b"online"
        _send(endpoint, "porch", 5)
        assert subscriber.wait_for("camhub/porch/status").payload == b"online"
        offline = subscriber.wait_for("camhub/porch/status", lambda m: m.payload == b"offline")
        assert offline.payload == b"offline"

        health = httpx.get(url + "api/notify", timeout=5).json()["sinks"]
        mqtt = next(s for s in health if s["type"] == "mqtt")
        assert mqtt["connected"] is True and mqtt["sent"] >= 2 and mqtt["dropped"] == 0
        assert mqtt["target"] == f"127.0.0.1:{broker.port}"
        hook = next(s for s in health if s["type"] == "webhook")
        assert hook["target"] == redact_url(dead_hook) and hook["sent"] == 0

        text = httpx.get(url + "metrics", timeout=5).text
        sent = re.search(r'camhub_sink_sent_total\{sink="mqtt",type="mqtt"\} (\d+)', text)
        assert sent is not None and int(sent.group(1)) >= 2
        assert 'camhub_sink_connected{sink="mqtt",type="mqtt"} 1' in text
        assert "camhub_sink_dropped_total" in text and "camhub_sink_errors_total" in text
        proc.expect(r"mqtt sink mqtt \(127\.0\.0\.1:\d+\): connected, \d+ sent")

        proc.p.terminate()
        assert proc.wait() == 0
        assert subscriber.wait_for("camhub/available", lambda m: m.payload == b"offline")
    finally:
        proc.kill()


def test_hub_runs_while_the_broker_is_down(dead_port: int) -> None:
    port = dead_port
    proc = Proc("hub", "--bind", "tcp://127.0.0.1:0", "--no-web", "--mqtt", f"127.0.0.1:{port}")
    try:
        endpoint = proc.expect(r"receiving on (tcp://\S+)").group(1)
        proc.expect(rf"MQTT broker 127\.0\.0\.1:{port} unreachable since \S+, retrying in \d+ s")
        _send(endpoint, "yard", 5)  # ingest works regardless
        proc.expect(r"camera yard connected")
        proc.p.terminate()
        assert proc.wait() == 0
    finally:
        proc.kill()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mqtt", "host:notaport"], "--mqtt: bad MQTT broker 'host:notaport'"),
        (["--mqtt", "127.0.0.1", "--mqtt-prefix", "a/#"], "--mqtt-prefix: prefix 'a/#'"),
        (["--ha-discovery"], "need --mqtt"),
        (["--webhook", "ftp://example.com/x"], "--webhook: url: bad webhook URL"),
        (["--webhook", "example.com"], "must start with http:// or https://"),
    ],
)
def test_bad_notify_options_are_clear_errors(
    args: list[str], message: str, taken_bind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_cli(capsys, "hub", "--bind", taken_bind, "--no-web", "--no-data", *args)
    assert code == 2
    assert "Traceback" not in out
    errors = [line for line in out.splitlines() if line.startswith("camhub hub: error:")]
    assert len(errors) == 1 and message in errors[0], out


def test_bad_mqtt_config_names_the_line(
    tmp_path: Path, taken_bind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "hub.toml"
    config.write_text('[hub]\n\n[mqtt]\nhost = "127.0.0.1"\nport = 70000\n')
    code, out = run_cli(capsys, "hub", "--config", str(config), "--bind", taken_bind, "--no-web")
    assert code == 2
    assert f"{config}:5: mqtt.port" in out, out


def test_unreadable_ca_file_is_a_one_line_start_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "hub.toml"
    missing = tmp_path / "missing-ca.pem"
    config.write_text(f'[mqtt]\nhost = "127.0.0.1"\nca_file = "{missing}"\n')
    # In this process: the hub stops at its MQTT set-up, before it serves anything.
    code, out = run_cli(
        capsys, "hub", "--config", str(config), "--bind", "tcp://127.0.0.1:0", "--no-web"
    )
    assert code == 2
    assert "Traceback" not in out
    assert f"camhub hub: error: cannot use MQTT ca_file '{missing}'" in out, out
