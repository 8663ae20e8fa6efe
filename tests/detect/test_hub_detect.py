"""``camhub hub --detect person`` as a real process: a real sender streams a generated
scene (a real person photo walking over a real background); events, /api, /metrics and
the objects records on the live stream."""

from __future__ import annotations

import json
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

import camhub
from tests.cli_proc import Proc, run_cli
from tests.detect.scene import Walker, background, cameraman, render

pytestmark = pytest.mark.timeout(120)


def stream_scene(endpoint: str, name: str, stop: threading.Event, fps: float = 10) -> None:
    bg = background()
    walker = [Walker(cameraman(), 10, 470, 0.0, 4.0)]
    with camhub.Sender(endpoint) as sender:
        start = time.monotonic()
        while not stop.is_set():
            t = (time.monotonic() - start) % 8.0
            frame, _ = render(walker, t, bg) if t <= 4.0 else (bg, None)
            sender.send_jpeg(name, camhub.encode_jpeg(frame))
            stop.wait(1 / fps)


def records(url: str, timeout: float = 30) -> Iterator[tuple[dict[str, object], bytes]]:
    with httpx.stream("GET", url, timeout=timeout) as resp:
        buf = b""
        for chunk in resp.iter_bytes():
            buf += chunk
            while len(buf) >= 4:
                (hl,) = struct.unpack(">I", buf[:4])
                if len(buf) < 8 + hl:
                    break
                (pl,) = struct.unpack(">I", buf[4 + hl : 8 + hl])
                if len(buf) < 8 + hl + pl:
                    break
                head = json.loads(buf[4 : 4 + hl])
                yield head, buf[8 + hl : 8 + hl + pl]
                buf = buf[8 + hl + pl :]


def test_hub_detects_tracks_and_reports_objects(tmp_path: Path) -> None:
    config = tmp_path / "hub.toml"
    config.write_text(
        "[detect]\nlabels = ['person']\ndetect_fps = 5\n"
        "[detect.cameras.porch]\n"
        "lines = [{ name = 'door', a = [320, 0], b = [320, 480] }]\n"
        "zones = [{ name = 'left', points = [[0, 0], [320, 0], [320, 480], [0, 480]] }]\n"
    )
    proc = Proc(
        "hub",
        "--bind",
        "tcp://127.0.0.1:0",
        "--web",
        "127.0.0.1:0",
        "--status-every",
        "1",
        "--config",
        str(config),
        "--detect",
        "person",
    )
    stop = threading.Event()
    sender: threading.Thread | None = None
    try:
        url = proc.expect(r"dashboard at (http://\S+)", timeout=60).group(1)
        endpoint = proc.expect(r"receiving on (tcp://\S+)").group(1)
        sender = threading.Thread(target=stream_scene, args=(endpoint, "porch", stop), daemon=True)
        sender.start()
        # The browser's live channel, with the objects records asked for.
        got_objects: dict[str, object] = {}
        for head, payload in records(url + "api/stream?view=live&objects=1"):
            if head["view"] == "objects":
                data = json.loads(payload)
                if data["objects"]:
                    got_objects = data
                    break
        assert got_objects["camera"] == "porch"
        first = got_objects["objects"][0]  # type: ignore[index]
        assert first["label"] == "person" and len(first["box"]) == 4
        assert got_objects["lines"] == [{"name": "door", "a": [320.0, 0.0], "b": [320.0, 480.0]}]
        assert got_objects["zones"][0]["name"] == "left"  # type: ignore[index]
        # Health in /api and /metrics.
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            cam = httpx.get(url + "api/cameras/porch", timeout=5).json()
            counts = cam["objects"]["stats"]["counts"]
            if counts["lines"]["door"]["in"] >= 1:
                break
            time.sleep(0.5)
        assert counts["lines"]["door"]["in"] >= 1
        stats = cam["objects"]["stats"]
        assert stats["status"] == "ok" and stats["inferences"] > 0 and stats["inference_ms"] > 0
        api = httpx.get(url + "api/objects", timeout=5).json()
        worker = api["detection"]["workers"][0]
        assert worker["rss_mb"] > 10 and worker["inferences"] > 0 and worker["pid"]
        text = httpx.get(url + "metrics", timeout=5).text
        assert 'camhub_detect_inferences_total{camera="porch"}' in text
        assert (
            'camhub_detect_line_crossings_total{camera="porch",line="door",direction="in"}' in text
        )
        assert 'camhub_detect_worker_rss_bytes{worker="0"}' in text
        proc.expect(r"detection on porch: ok, .* inferences", timeout=10)
        proc.p.terminate()
        assert proc.wait(20) == 0
        assert not psutil.pid_exists(worker["pid"]), "the worker process must stop with the hub"
    finally:
        stop.set()
        if sender is not None:
            sender.join(5)
        proc.kill()


def test_a_missing_model_fails_before_start_with_one_line_naming_it(
    tmp_path: Path, taken_bind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "mine.onnx"
    args = ["--bind", taken_bind, "--no-web", "--no-data", "--detect", "person", "--model"]
    code, out = run_cli(capsys, "hub", *args, str(model))
    assert code == 2
    assert f"camhub hub: error: model file {model} does not exist" in out, out
    assert "Traceback" not in out


def test_model_options_without_detect_are_refused(
    taken_bind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_cli(capsys, "hub", "--bind", taken_bind, "--no-web", "--model", "x.onnx")
    assert code == 2
    assert "error: --model/--labels/--detect-* need --detect" in out, out


def test_an_unknown_label_is_refused_naming_the_known_ones(
    taken_bind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_cli(
        capsys, "hub", "--bind", taken_bind, "--no-web", "--detect", "person,unicorn"
    )
    assert code == 2
    assert "error: --detect: the detector does not know 'unicorn' (it knows: person, bicycle" in out


def test_workers_exit_when_the_hub_is_killed() -> None:
    proc = Proc("hub", "--bind", "tcp://127.0.0.1:0", "--web", "127.0.0.1:0", "--detect", "person")
    try:
        url = proc.expect(r"dashboard at (http://\S+)", timeout=60).group(1)
        pid = httpx.get(url + "api/objects", timeout=5).json()["detection"]["workers"][0]["pid"]
        assert psutil.pid_exists(pid)
        proc.p.kill()  # no clean-up at all: the worker sees its pipe close
        proc.p.wait(10)
        deadline = time.monotonic() + 20
        while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, "an orphaned detector worker kept running"
            time.sleep(0.1)
    finally:
        proc.kill()
