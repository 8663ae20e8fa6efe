"""A camera's own H.264 from ``camhub send`` (a real process) to a hub: GStreamer's RTSP
server streaming an ffmpeg-made file (so the camera's access units are known), and the
file itself. The hub gets the camera's bytes, not a re-encode; an imagezmq hub gets JPEG;
motion and person detection fire at a ``camhub hub`` process."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import imagezmq
import pytest
import zmq

import camhub
from camhub.jpeg import decode_jpeg
from camhub.video.packet import h264_type, length_prefixed_to_annexb, nal_units
from tests.cli_proc import Proc
from tests.conftest import free_port
from tests.servers.media import ffmpeg
from tests.servers.rtsp import RTSPServer, rtsp_missing

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four seconds of H.264 at 15 fps with a keyframe every 10 frames."""
    path = tmp_path_factory.mktemp("media") / "camera.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=15:duration=4",
           "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", "-g", "10",
           str(path))  # fmt: skip
    return path


@pytest.fixture
def rtsp() -> None:
    why = rtsp_missing()
    if why:
        pytest.skip(f"needs GStreamer's RTSP server: {why}")


@pytest.fixture
def hub() -> Iterator[camhub.Hub]:
    with camhub.Hub("tcp://127.0.0.1:0") as h:
        yield h


def slices(units: list[bytes]) -> list[bytes]:
    """The NAL units a camera coded (without parameter sets and delimiters, which a
    payloader may repeat)."""
    return [u for u in units if h264_type(u) not in (7, 8, 9)]


def camera_units(path: Path) -> list[list[bytes]]:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [
            slices(nal_units(length_prefixed_to_annexb(bytes(p))))
            for p in container.demux(stream)
            if p.size
        ]


def video_at_hub(hub: camhub.Hub, name: str, count: int) -> list[camhub.Frame]:
    """The first ``count`` video frames of camera ``name`` (JPEG ones before are skipped)."""
    subscription = hub.subscribe([name], maxsize=256)
    frames: list[camhub.Frame] = []
    try:
        deadline = time.monotonic() + 60
        while len(frames) < count:
            assert time.monotonic() < deadline, f"{len(frames)} video frames of {name}"
            frame = subscription.get(1.0)
            if frame is not None and frame.video is not None:
                frames.append(frame)
    finally:
        subscription.close()
    return frames


def assert_camera_bytes(frames: list[camhub.Frame], expected: list[list[bytes]]) -> None:
    """The frames are consecutive access units of the camera, byte for byte."""
    got = [slices(nal_units(f.video.data)) for f in frames if f.video is not None]
    assert frames[0].video is not None and frames[0].video.keyframe
    start = expected.index(got[0])
    assert start % 10 == 0, "video starts at one of the camera's keyframes"
    looped = expected * 3
    assert got == looped[start : start + len(got)]
    seqs = [f.seq for f in frames]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "no frame lost on the way"


def test_an_rtsp_camera_reaches_the_hub_as_its_own_h264(
    rtsp: None, clip: Path, hub: camhub.Hub
) -> None:
    with RTSPServer(file=clip) as camera:
        sender = Proc("send", camera.url, "--name", "door", "--hub", hub.endpoint)
        try:
            frames = video_at_hub(hub, "door", 25)
        finally:
            sender.kill()
    assert_camera_bytes(frames, camera_units(clip))
    stats = hub.camera_stats("door")
    assert (
        stats is not None
        and stats.encoding == "h264"
        and (stats.width, stats.height)
        == (
            320,
            240,
        )
    )


def test_a_video_file_reaches_the_hub_as_its_own_h264(clip: Path, hub: camhub.Hub) -> None:
    sender = Proc("send", str(clip), "--loop", "--name", "clip", "--hub", hub.endpoint)
    try:
        frames = video_at_hub(hub, "clip", 70)  # across a loop (60 frames in the file)
    finally:
        sender.kill()
    assert_camera_bytes(frames, camera_units(clip))


def test_an_imagezmq_hub_gets_jpeg_from_an_rtsp_camera(rtsp: None) -> None:
    port = free_port()
    image_hub = imagezmq.ImageHub(f"tcp://127.0.0.1:{port}")
    image_hub.zmq_socket.setsockopt(zmq.RCVTIMEO, 20_000)
    sender = None
    try:
        with RTSPServer(size="160x120", fps=15) as camera:
            sender = Proc("send", camera.url, "--name", "door", "--hub", f"tcp://127.0.0.1:{port}")
            pictures = []
            for _ in range(10):
                name, jpeg = image_hub.recv_jpg()
                image_hub.send_reply(b"OK")
                pictures.append((name, decode_jpeg(bytes(jpeg)).shape))
    finally:
        if sender is not None:
            sender.kill()
        image_hub.close()
    assert pictures == [("door", (120, 160, 3))] * 10


def test_motion_fires_on_an_rtsp_camera_at_a_camhub_hub(rtsp: None, tmp_path: Path) -> None:
    port = free_port()
    hub = Proc("hub", "--bind", f"tcp://127.0.0.1:{port}", "--web", "127.0.0.1:0",
               "--processor", "motion", "--status-every", "1", "--data", str(tmp_path))  # fmt: skip
    sender = None
    try:
        url = hub.expect(r"dashboard at (http://\S+)").group(1)
        with RTSPServer(size="320x240", fps=15, pattern="ball") as camera:
            sender = Proc("send", camera.url, "--name", "yard", "--hub", f"tcp://127.0.0.1:{port}")
            hub.expect(r"camera yard: online, .*h264", timeout=30)
            deadline = time.monotonic() + 40
            while True:
                events = httpx.get(url + "api/events?label=motion", timeout=5).json()["events"]
                if any(e["camera"] == "yard" for e in events):
                    break
                assert time.monotonic() < deadline, "no motion event from the moving ball"
                time.sleep(0.5)
    finally:
        for proc in (sender, hub):
            if proc is not None:
                proc.kill()


@pytest.fixture(scope="module")
def walker_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight seconds of a person (scikit-image's astronaut) walking across a photograph,
    H.264 in MP4 as a camera would record it."""
    import av

    from tests.video.media import Scene

    path = tmp_path_factory.mktemp("media") / "walker.mp4"
    scene = Scene(320, 240, step=5)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=15)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.options = {"preset": "ultrafast", "bf": "0", "g": "15"}
        for i in range(120):
            picture = av.VideoFrame.from_ndarray(scene.frame(i), format="bgr24")
            out.mux(stream.encode(picture.reformat(format="yuv420p")))
        out.mux(stream.encode(None))
    return path


@pytest.mark.timeout(240)
def test_person_detection_fires_on_an_rtsp_camera_and_a_video_file(
    rtsp: None, walker_clip: Path, tmp_path: Path
) -> None:
    """Both cameras reach the hub as their own H.264; the hub decodes them only for the
    detector, which finds the walking person on each."""
    port = free_port()
    hub = Proc("hub", "--bind", f"tcp://127.0.0.1:{port}", "--web", "127.0.0.1:0",
               "--detect", "person", "--status-every", "1", "--data", str(tmp_path))  # fmt: skip
    senders: list[Proc] = []
    try:
        url = hub.expect(r"dashboard at (http://\S+)", timeout=60).group(1)
        with RTSPServer(file=walker_clip) as camera:
            endpoint = f"tcp://127.0.0.1:{port}"
            senders.append(Proc("send", camera.url, "--name", "porch", "--hub", endpoint))
            senders.append(
                Proc("send", str(walker_clip), "--loop", "--name", "drive", "--hub", endpoint)
            )
            deadline = time.monotonic() + 90
            while True:
                events = httpx.get(url + "api/events?label=person", timeout=5).json()["events"]
                if {e["camera"] for e in events} >= {"porch", "drive"}:
                    break
                assert time.monotonic() < deadline, f"person events only on {events}"
                time.sleep(0.5)
            cameras = httpx.get(url + "api/cameras", timeout=5).json()
    finally:
        for proc in (*senders, hub):
            proc.kill()
    encodings = {c["name"]: c.get("encoding") for c in cameras["cameras"]}
    assert encodings == {"porch": "h264", "drive": "h264"}, encodings
