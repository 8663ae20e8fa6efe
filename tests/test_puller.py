"""Cameras the hub reads itself: real MJPEG and RTSP camera servers pulled straight into a
real hub's store, beside pushed cameras; configured cameras listed with their reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import camhub
from camhub.agent import CameraJob
from camhub.puller import PEER, Puller, pull_names
from tests.cli_proc import Proc
from tests.conftest import closed_port, wait_until
from tests.servers.media import make_jpegs
from tests.servers.py_mjpeg import PyMJPEGServer
from tests.servers.rtsp import RTSPServer, rtsp_missing

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def jpegs() -> list[bytes]:
    return make_jpegs(size="160x120", fps=15, seconds=1.0)


@pytest.fixture
def pullers() -> Iterator[list[Puller]]:
    started: list[Puller] = []
    yield started
    for puller in started:
        puller.stop()


def pull(pullers: list[Puller], hub: camhub.Hub, *jobs: CameraJob) -> Puller:
    puller = Puller(hub.store, jobs)
    pullers.append(puller)
    return puller.start()


def test_pulled_mjpeg_camera_streams_byte_for_byte_beside_a_pushed_one(
    hub: camhub.Hub, jpegs: list[bytes], pullers: list[Puller]
) -> None:
    with PyMJPEGServer(jpegs, fps=15, auth=("admin", "s3cret")) as server:
        url = server.base("admin:s3cret@") + "/video"
        pull(pullers, hub, CameraJob("phone", url))
        with camhub.Sender(hub.endpoint) as sender:
            assert sender.send_jpeg("pushed", jpegs[0])
        seen: list[bytes] = []
        count = 0
        while len(seen) < 10:
            got = hub.wait_newer("phone", count, timeout=10)
            assert got is not None, "the pulled camera stopped"
            frame, count = got
            seen.append(frame.jpeg or b"")
    assert all(jpeg in jpegs for jpeg in seen), "pass-through must not re-encode"
    stats = hub.camera_stats("phone")
    assert stats is not None and stats.peer == PEER and stats.reason is None
    assert stats.source is not None and "s3cret" not in stats.source  # no password shown
    assert (stats.width, stats.height) == (160, 120)
    pushed = hub.camera_stats("pushed")
    assert pushed is not None and pushed.frames == 1 and pushed.peer == "127.0.0.1"


@pytest.mark.rtsp
def test_pulled_rtsp_camera_streams(hub: camhub.Hub, pullers: list[Puller]) -> None:
    why = rtsp_missing()
    if why:
        pytest.skip(f"RTSP tests need GStreamer's RTSP server: {why}")
    with RTSPServer(size="160x120", fps=15) as server:
        pull(pullers, hub, CameraJob("garage", server.url))
        assert hub.wait_newer("garage", 9, timeout=20) is not None
    frame = hub.latest("garage")
    assert frame is not None and (frame.width, frame.height) == (160, 120)
    # The camera's own H.264 went into the store, from the first packet: no JPEG.
    stats = hub.camera_stats("garage")
    assert stats is not None and stats.encoding == "h264" and stats.broken == 0


def test_pulled_pictures_stay_pictures(hub: camhub.Hub, pullers: list[Puller]) -> None:
    pull(pullers, hub, CameraJob("pattern", "testsrc:64x48@15"))
    assert hub.wait_newer("pattern", 2, timeout=20) is not None
    stats = hub.camera_stats("pattern")
    assert stats is not None and stats.encoding == "jpeg"  # no network: no H.264 here


def test_configured_camera_is_listed_with_its_reason_until_it_comes_up(
    hub: camhub.Hub, jpegs: list[bytes], pullers: list[Puller]
) -> None:
    with closed_port() as port:  # nothing listens there until the camera comes up
        pull(pullers, hub, CameraJob("porch", f"http://127.0.0.1:{port}/video", timeout=1.0))
        stats = hub.camera_stats("porch")  # declared at once, before any frame
        assert stats is not None and stats.frames == 0 and not stats.online
        wait_until(
            lambda: "refused" in (((s := hub.camera_stats("porch")) and s.reason) or ""),
            timeout=15,
        )
        reason = (hub.camera_stats("porch") or stats).reason or ""
        assert "is the camera app running" in reason, reason
    with PyMJPEGServer(jpegs, port=port):
        assert hub.wait_newer("porch", 2, timeout=20) is not None
        back = hub.camera_stats("porch")
        assert back is not None and back.online and back.reason is None


def test_default_names_come_from_the_camera_host() -> None:
    assert pull_names(
        ["ipwebcam://192.168.1.23", "rtsp://u:p@cam.local/s1", "ipwebcam://192.168.1.23", "0"]
    ) == ["192.168.1.23", "cam.local", "192.168.1.23-2", "webcam"]


def test_cli_hub_pulls_urls_and_fleet_file_cameras(
    tmp_path: Path, jpegs: list[bytes], dead_port: int
) -> None:
    with PyMJPEGServer(jpegs, fps=15) as server:
        config = tmp_path / "fleet.toml"
        config.write_text(
            f"""
[hub]
bind = "tcp://127.0.0.1:0"
web = "127.0.0.1:0"

[[cameras]]
name = "yard"
source = "{server.url}"
pull = true

[[cameras]]
name = "pushed-later"
source = "testsrc:64x48@5"

[[cameras]]
name = "nowhere"
source = "http://127.0.0.1:{dead_port}/video"
pull = true
"""
        )
        hub = Proc("hub", "--config", str(config), "testsrc:64x48@10", "--name", "pattern")
        sender = None
        try:
            url = hub.expect(r"dashboard at (http://\S+)").group(1)
            endpoint = hub.expect(r"receiving on (tcp://\S+)").group(1)

            def cams() -> dict[str, dict[str, object]]:
                data = httpx.get(url + "api/cameras", timeout=5).json()
                return {c["name"]: c for c in data["cameras"]}

            wait_until(
                lambda: all(int(cams()[n]["frames"]) > 3 for n in ("yard", "pattern")),  # type: ignore[call-overload]
                timeout=20,
            )
            now = cams()
            assert sorted(now) == ["nowhere", "pattern", "pushed-later", "yard"]
            assert now["pushed-later"]["frames"] == 0
            assert "camhub send" in str(now["pushed-later"]["reason"])
            wait_until(lambda: "refused" in str(cams()["nowhere"]["reason"]), timeout=15)
            # camhub send --config leaves the pulled cameras to the hub.
            sender = Proc("send", "--config", str(config), "--hub", endpoint)
            wait_until(lambda: int(cams()["pushed-later"]["frames"]) > 2, timeout=20)  # type: ignore[call-overload]
            assert cams()["yard"]["peer"] == PEER
        finally:
            for p in (sender, hub):
                if p is not None:
                    p.kill()
