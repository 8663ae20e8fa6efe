"""ffmpeg as an MJPEG-over-HTTP camera: ``-f mpjpeg -listen 1`` serves one client and
exits, so a supervisor thread starts it again each time, like a phone app that waits for
the next viewer. The JPEG packets are copied from a file, so the exact bytes each client
receives are known."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path
from types import TracebackType

import psutil

from tests.servers.media import FFMPEG
from tests.servers.ports import free_port


class FFmpegMJPEGServer:
    def __init__(self, mjpeg_file: Path, fps: int = 15, port: int | None = None) -> None:
        self.mjpeg_file = mjpeg_file
        self.fps = fps
        self.port = port or free_port()
        self._fixed_port = port is not None
        self.url = f"http://127.0.0.1:{self.port}/video"
        self.clients = 0
        self._stop = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> FFmpegMJPEGServer:
        """Start serving, and return once ffmpeg itself listens. Its port was only free
        a moment ago (ffmpeg cannot bind port 0 and say which it got): if another process
        holds it, ffmpeg never listens there, and the start is tried again on a new port
        (unless the port was given), up to three times. This retries the peer's start,
        never the test."""
        for _attempt in range(3):
            self._stop.clear()
            self._thread = threading.Thread(target=self._supervise, daemon=True)
            self._thread.start()
            if self._listening(timeout=15):
                return self
            self.stop()
            if self._fixed_port:
                break
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}/video"
        raise RuntimeError(f"ffmpeg did not listen on 127.0.0.1:{self.port}")

    def _listening(self, timeout: float) -> bool:
        """True once the current ffmpeg process (not another program) listens."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                proc = self._proc
            if proc is not None and proc.poll() is None:
                try:
                    conns = psutil.Process(proc.pid).net_connections("tcp")
                except psutil.Error:
                    conns = []
                if any(c.status == psutil.CONN_LISTEN and c.laddr.port == self.port for c in conns):
                    return True
            time.sleep(0.05)
        return False

    def _supervise(self) -> None:
        cmd = [
            FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin",
            "-re", "-framerate", str(self.fps), "-stream_loop", "-1",
            "-f", "mjpeg", "-i", str(self.mjpeg_file), "-c:v", "copy",
            "-f", "mpjpeg", "-content_type", "multipart/x-mixed-replace;boundary=ffmpeg",
            "-listen", "1", self.url,
        ]  # fmt: skip
        while not self._stop.is_set():
            with self._lock:
                if self._stop.is_set():
                    return
                self._proc = subprocess.Popen(
                    cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )  # fmt: skip
            self._proc.wait()
            self.clients += 1
            self._stop.wait(0.05)

    def stop(self) -> None:
        """Kill the server (a camera that vanishes mid-stream)."""
        self._stop.set()
        with self._lock:
            proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FFmpegMJPEGServer:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
