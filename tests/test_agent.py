"""`camhub send` and the agent behind it, streaming real camera servers into a real hub."""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq

import camhub
from camhub.agent import Agent, CameraJob, default_names
from camhub.encoding import CodecChoice
from tests.cli_proc import Proc, run_cli
from tests.clock import ManualClock
from tests.conftest import FFMPEG, closed_port, wait_until
from tests.servers.ffmpeg_mjpeg import FFmpegMJPEGServer
from tests.servers.media import make_jpegs, make_video, write_mjpeg
from tests.servers.py_mjpeg import PyMJPEGServer, read_stamp
from tests.servers.rtsp import RTSPServer, rtsp_missing

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def jpegs() -> list[bytes]:
    return make_jpegs(size="160x120", fps=15, seconds=1.0)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory, jpegs: list[bytes]) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("media")
    return {
        "mjpeg": write_mjpeg(folder / "frames.mjpeg", jpegs),
        "video": make_video(folder / "clip.mp4", "160x120", 20, 1.0),
    }


@pytest.fixture
def agent_factory() -> Iterator[list[Agent]]:
    agents: list[Agent] = []
    yield agents
    for agent in agents:
        agent.stop()


def start_agent(agents: list[Agent], hub: str, *jobs: CameraJob) -> Agent:
    agent = Agent(hub, jobs, send_timeout=1.0)
    agents.append(agent)
    return agent.start()


def frames_at_hub(hub: camhub.Hub, name: str, count: int, timeout: float = 15) -> int:
    got = hub.wait_newer(name, count - 1, timeout)
    assert got is not None, f"camera {name} sent fewer than {count} frames to the hub"
    return got[1]


def encoding(hub: camhub.Hub, name: str) -> str | None:
    stats = hub.camera_stats(name)
    return stats.encoding if stats is not None else None


@FFMPEG
def test_every_source_kind_reaches_the_hub_from_one_process(
    hub: camhub.Hub, media: dict[str, Path], jpegs: list[bytes], agent_factory: list[Agent]
) -> None:
    with (
        FFmpegMJPEGServer(media["mjpeg"], fps=15) as ffmpeg,
        PyMJPEGServer(jpegs, fps=15, auth=("u", "p")) as phone,
    ):
        jobs = [
            CameraJob("pattern", "testsrc:160x120@15"),
            CameraJob("mjpeg", ffmpeg.url),
            CameraJob("ipwebcam", f"ipwebcam://u:p@127.0.0.1:{phone.port}"),
            CameraJob("shots", f"http://u:p@127.0.0.1:{phone.port}/shot.jpg", snapshot_rate=10),
            CameraJob("clip", str(media["video"]), loop=True),
        ]
        agent = start_agent(agent_factory, hub.endpoint, *jobs)
        for job in jobs:
            frames_at_hub(hub, job.name, 5)
        lines = agent.status_lines()
        # MJPEG cameras' JPEGs pass through; the file's H.264 passes through (from its
        # first keyframe after the hub said it takes video); the test pattern's pictures
        # become H.264 for this hub.
        expected = {"pattern": "h264", "mjpeg": "jpeg", "ipwebcam": "jpeg", "shots": "jpeg",
                    "clip": "h264"}  # fmt: skip
        wait_until(lambda: {j.name: encoding(hub, j.name) for j in jobs} == expected, 15)
    assert set(hub.camera_names()) == {job.name for job in jobs}
    for job, line in zip(jobs, lines, strict=True):
        assert line.startswith(job.name) and "streaming" in line and "fps" in line


@pytest.mark.rtsp
def test_rtsp_reaches_the_hub(hub: camhub.Hub, agent_factory: list[Agent]) -> None:
    why = rtsp_missing()
    if why:
        pytest.skip(f"RTSP tests need GStreamer's RTSP server: {why}")
    with RTSPServer(size="160x120", fps=15) as server:
        start_agent(agent_factory, hub.endpoint, CameraJob("rtsp", server.url))
        frames_at_hub(hub, "rtsp", 10)
        # The camera's own H.264, from its first keyframe after the hub said it takes it.
        wait_until(lambda: encoding(hub, "rtsp") == "h264", 10)
    frame = hub.latest("rtsp")
    assert frame is not None and (frame.width, frame.height) == (160, 120)


@FFMPEG
def test_mjpeg_pass_through_is_byte_identical(
    hub: camhub.Hub, media: dict[str, Path], jpegs: list[bytes], agent_factory: list[Agent]
) -> None:
    with FFmpegMJPEGServer(media["mjpeg"], fps=15) as server:
        start_agent(agent_factory, hub.endpoint, CameraJob("phone", server.url))
        seen: list[bytes] = []
        count = 0
        while len(seen) < 15:
            got = hub.wait_newer("phone", count, timeout=10)
            assert got is not None
            frame, count = got
            seen.append(frame.jpeg or b"")
    assert all(jpeg in jpegs for jpeg in seen), "the hub got JPEG bytes the camera never sent"
    assert len(set(seen)) > 5


def test_resize_raw_and_reencode(
    hub: camhub.Hub, jpegs: list[bytes], agent_factory: list[Agent]
) -> None:
    # ffmpeg's server takes one client at a time; the Python one takes several.
    with PyMJPEGServer(jpegs, fps=15) as server:
        start_agent(
            agent_factory,
            hub.endpoint,
            CameraJob("small", "testsrc:320x240@15", width=160, quality=60),
            CameraJob("raw", server.url, encoding="raw"),
            CameraJob("re", server.url, reencode=True, quality=30),
        )
        frames_at_hub(hub, "small", 3)
        frames_at_hub(hub, "raw", 3)
        frames_at_hub(hub, "re", 3)
        wait_until(lambda: encoding(hub, "small") == "h264", 10)  # once the hub answered
    small, raw, re = hub.latest("small"), hub.latest("raw"), hub.latest("re")
    assert re is not None and re.jpeg is not None and re.jpeg not in jpegs
    assert (re.width, re.height) == (160, 120) and len(re.jpeg) < max(map(len, jpegs))
    assert small is not None and (small.width, small.height) == (160, 120)
    assert raw is not None and raw.encoding == "raw" and raw.image.shape == (120, 160, 3)


@pytest.mark.parametrize("codec", ["jpeg", "h264"])
def test_fps_limit(hub: camhub.Hub, agent_factory: list[Agent], codec: CodecChoice) -> None:
    clock = ManualClock()
    job = CameraJob("slow", "testsrc:64x48@30", fps=5, codec=codec)
    agent = Agent(hub.endpoint, [job], send_timeout=1.0, clock=clock)
    agent_factory.append(agent.start())
    worker = agent.workers[0]
    clock.asleep()  # the first frame has gone; the next is 1/5 s of clock away
    first = worker.sent
    clock.advance(2.0, step=0.1)  # the 30 fps camera makes 60 meanwhile
    sent = worker.sent - first
    assert sent == 10, f"{sent} frames in 2 s of clock at --fps 5"
    # Every frame sent arrives (counted decoded or not).
    wait_until(lambda: (s := hub.camera_stats("slow")) is not None and s.frames == worker.sent)
    assert encoding(hub, "slow") == codec


@FFMPEG
def test_camera_restart_resumes_streaming(
    hub: camhub.Hub, media: dict[str, Path], agent_factory: list[Agent]
) -> None:
    server = FFmpegMJPEGServer(media["mjpeg"], fps=15).start()
    try:
        agent = Agent(hub.endpoint, [CameraJob("phone1", server.url)], send_timeout=1.0)
        source = agent.workers[0].source
        agent_factory.append(agent.start())
        frames_at_hub(hub, "phone1", 3)  # (ffmpeg may refuse the first tries: real time)
        clock = ManualClock()
        source.clock = clock  # from now on, the pauses between reconnect attempts
        server.stop()
        wait_until(lambda: agent.workers[0].state == "offline", timeout=10)
        assert "offline" in agent.status_lines()[0]
        clock.asleep()
        clock.advance(5.0, step=0.25)  # down for a while: the backoff has grown
        retries = source.status().reconnects
        assert retries >= 4, clock.waits
        # ... up to its cap (retry_max, 1 s), so a camera that comes back is tried
        # again within 1 s of clock.
        assert max(clock.waits) == pytest.approx(source.timeouts.retry_max), clock.waits
        before = frames_at_hub(hub, "phone1", 1)
        server = FFmpegMJPEGServer(media["mjpeg"], fps=15, port=server.port).start()
        for _ in range(20):  # ffmpeg may take a moment to listen: a try may still fail
            clock.advance(source.timeouts.retry_max, sleepers=0)
            if hub.wait_newer("phone1", before, timeout=2) is not None:
                break
        frames_at_hub(hub, "phone1", before + 1)
    finally:
        server.stop()


def test_hub_down_then_up(agent_factory: list[Agent]) -> None:
    with closed_port() as port:  # nothing listens there, and nobody takes it meanwhile
        agent = start_agent(
            agent_factory, f"tcp://127.0.0.1:{port}", CameraJob("cam", "testsrc:64x48@10")
        )
        wait_until(lambda: agent.workers[0].state == "hub down", timeout=10)
        assert "not reachable" in agent.status_lines()[0]
    with camhub.Hub(f"tcp://127.0.0.1:{port}") as late_hub:
        assert late_hub.wait_newer("cam", 2, timeout=15) is not None
    agent.stop()  # joins each camera for up to 10 s
    assert not agent.running


def test_slow_hub_never_makes_frames_older(jpegs: list[bytes], agent_factory: list[Agent]) -> None:
    """A hub that takes 150 ms per frame: ages at the hub stay bounded instead of growing."""
    ctx = zmq.Context.instance()
    router = ctx.socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    ages: list[float] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            if not router.poll(100):
                continue
            parts = router.recv_multipart()
            sent = read_stamp(parts[-1])
            if sent is not None:
                ages.append(time.time() - sent)
            time.sleep(0.15)
            router.send_multipart([parts[0], b"", b"OK"])

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with PyMJPEGServer(jpegs, fps=30, stamp=True) as camera:
            start_agent(agent_factory, f"tcp://127.0.0.1:{port}", CameraJob("cam", camera.url))
            wait_until(lambda: len(ages) >= 20, timeout=20)
    finally:
        stop.set()
        thread.join(5)
        router.close()
    settled = ages[5:]
    assert max(settled) < 1.2, f"ages {settled}"
    half = len(settled) // 2
    assert sum(settled[half:]) / (len(settled) - half) < sum(settled[:half]) / half + 0.2


def test_default_names() -> None:
    host = socket.gethostname().split(".")[0]
    assert default_names(1) == [host]
    assert default_names(2) == [f"{host}-1", f"{host}-2"]
    assert default_names(2, "pi") == ["pi-1", "pi-2"]


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(camhub.SourceError, match="unique"):
        Agent("tcp://127.0.0.1:5555", [CameraJob("a", "testsrc"), CameraJob("a", "testsrc")])


# -- the command line -------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_streams_several_cameras_and_stops_cleanly(hub: camhub.Hub, sig: int) -> None:
    proc = Proc("send", "testsrc:64x48@10", "testsrc:64x48@10", "--hub", hub.endpoint,
                "--name", "door")  # fmt: skip
    try:
        frames_at_hub(hub, "door-1", 3)
        frames_at_hub(hub, "door-2", 3)
        proc.p.send_signal(sig)
        code = proc.wait(15)
    finally:
        proc.kill()
    out = proc.text()
    assert code == 0, out
    assert "status: door-1" in out and "streaming" in out
    assert "stopping" in out


def test_cli_config_file(hub: camhub.Hub, tmp_path: Path) -> None:
    config = tmp_path / "fleet.yaml"
    config.write_text(
        f"hub:\n  address: {hub.endpoint}\ncameras:\n"
        "  - name: yard\n    source: testsrc:64x48@10\n    width: 32\n"
    )
    proc = Proc("send", "--config", str(config))
    try:
        frames_at_hub(hub, "yard", 2)
    finally:
        proc.kill()
    frame = hub.latest("yard")
    assert frame is not None and frame.width == 32


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["send", "htp://cam/video"], "SOURCE: unknown scheme 'htp'"),
        (["send", "http://"], "no host name"),
        (["send", "testsrc", "--hub", "localhost:5555"], "--hub: bad hub address"),
        (["send", "/no/such/clip.mp4"], "does not exist"),
        (["send"], "no cameras"),
        (["send", "testsrc", "--fps", "0"], "--fps must be positive and at most 240, got 0"),
        (["send", "testsrc", "--quality", "101"], "--quality must be 1..100, got 101"),
        (["send", "testsrc", "--width", "8"], "--width must be 16..7680, got 8"),
        (["send", "testsrc", "--name", "my cam"], "--name: String should match pattern"),
        (["send", "testsrc", "testsrc", "--name", "a", "--name", "b", "--name", "c"], "3 --name"),
    ],
)
def test_cli_bad_input_fails_at_once(
    args: list[str],
    words: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    code, out = run_cli(capsys, *args)
    assert code == 2
    assert words in out, out
    assert "Traceback" not in out
    assert "WITHOUT encryption" not in caplog.text  # nothing but the error


def test_a_damaged_camera_jpeg_is_skipped_not_fatal(
    hub: camhub.Hub, jpegs: list[bytes], agent_factory: list[Agent]
) -> None:
    # A valid header with garbage after it: passes the header check, fails decoding.
    damaged = jpegs[0][:600] + b"\x00" * 50
    with PyMJPEGServer([damaged, *jpegs[1:4]], fps=20) as camera:
        agent = start_agent(agent_factory, hub.endpoint, CameraJob("re", camera.url, reencode=True))
        frames_at_hub(hub, "re", 8)
    assert agent.workers[0].alive
