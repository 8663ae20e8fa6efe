"""Start tests/servers/rtsp_server.py (GStreamer's RTSP server) with the system Python,
which is where Debian's python3-gi and the GstRtspServer GIR live."""

from __future__ import annotations

import os
import select
import subprocess
from pathlib import Path
from types import TracebackType

SYSTEM_PYTHON = "/usr/bin/python3"
SCRIPT = Path(__file__).with_name("rtsp_server.py")
PATH = "/h264_ulaw.sdp"


def rtsp_missing() -> str | None:
    """Why the RTSP server cannot run here, or None if it can."""
    if not os.path.exists(SYSTEM_PYTHON):
        return f"{SYSTEM_PYTHON} not found"
    probe = subprocess.run(
        [SYSTEM_PYTHON, "-c",
         "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0');"
         "from gi.repository import GstRtspServer"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["?"])[-1]
        return f"GStreamer RTSP server GIR unavailable to {SYSTEM_PYTHON} ({last})"
    return None


class RTSPServer:
    def __init__(
        self,
        size: str = "320x240",
        fps: int = 15,
        stamp: bool = False,
        port: int = 0,
        pattern: str = "ball",
        bitrate: int = 0,
        file: Path | None = None,
        login: tuple[str, str] | None = None,
        jpeg: bool = False,
        path: str = PATH,
    ) -> None:
        self.size, self.fps, self.stamp, self.port = size, fps, stamp, port
        self.pattern, self.bitrate = pattern, bitrate
        self.file = file
        """An MP4 whose H.264 is streamed as it is (the camera's access units are known)."""
        self.login = login
        """(user, password) the server asks for with Digest authentication."""
        self.path = path
        self.jpeg = jpeg
        """Send MJPEG over RTP instead of H.264 (a codec camhub does not pass through)."""
        self.proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}{self.path}"

    def start(self, timeout: float = 20.0) -> RTSPServer:
        cmd = [SYSTEM_PYTHON, str(SCRIPT), "--size", self.size, "--fps", str(self.fps),
               "--port", str(self.port), "--pattern", self.pattern,
               "--bitrate", str(self.bitrate), "--path", self.path]  # fmt: skip
        if self.stamp:
            cmd.append("--stamp")
        if self.file is not None:
            cmd += ["--file", str(self.file)]
        if self.jpeg:
            cmd.append("--jpeg")
        if self.login is not None:
            cmd += ["--user", self.login[0], "--password", self.login[1]]
        # stdin stays an open pipe: the server exits when it closes (if the test dies).
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        if not line.startswith("READY "):
            self.stop()
            raise RuntimeError(f"RTSP server did not start: {line.strip() or 'no output'}")
        self.port = int(line.split()[1])
        return self

    def stop(self) -> None:
        """Kill the server at once (a camera that vanishes mid-stream)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()

    def __enter__(self) -> RTSPServer:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
