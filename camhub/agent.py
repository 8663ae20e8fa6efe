"""The sending agent behind ``camhub send``: one thread per camera takes the newest frame
from its source, encodes it as the hub can take it (:mod:`camhub.encoding`), and sends it.

An RTSP camera's or a video file's own H.264/H.265 packets pass through untouched to a
hub that takes video; pictures (webcams, the test pattern) are encoded as H.264 for such
a hub; everything else, and any hub that takes no video, gets JPEG, and MJPEG cameras'
JPEGs go out byte for byte (no decode, no re-encode) unless a ``width`` forces a resize
or ``raw`` asks for arrays. Because each step takes the newest frame (the newest group
of pictures, for video), a slow network or hub lowers the frame rate instead of making
frames older.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from camhub.clock import SYSTEM_CLOCK, Clock
from camhub.encoding import CODEC_CHOICES, CodecChoice, FrameEncoder
from camhub.jpeg import JpegError
from camhub.sender import Sender
from camhub.sources import SourceTimeout, ThreadedSource, open_source
from camhub.transport import SocketSecurity, check_endpoint
from camhub.types import ArgumentError, Encoding, Frame, SourceEnded, SourceError, VideoError
from camhub.units import rate_text
from camhub.video.gop import KeyframeRequest
from camhub.video.packet import Codec

log = logging.getLogger("camhub.agent")

READ_WAIT = 0.5
"""Longest a camera thread blocks on its source before looking at the stop flag."""


@dataclass(frozen=True, slots=True)
class CameraJob:
    """What to stream for one camera, and how."""

    name: str
    source: str
    fps: float | None = None
    width: int | None = None
    quality: int = 85
    encoding: Encoding = "jpeg"
    reencode: bool = False
    """Decode and re-encode camera JPEGs at ``quality`` (smaller frames, more CPU)."""
    loop: bool = False
    snapshot_rate: float = 5.0
    timeout: float = 5.0
    codec: CodecChoice = "auto"
    """``auto``: the camera's own video, else H.264 made here, else JPEG (see
    :mod:`camhub.encoding`); ``h264``; ``jpeg``: JPEG as before video existed."""

    def __post_init__(self) -> None:
        if self.codec not in CODEC_CHOICES:
            raise ArgumentError(
                f"codec must be one of {', '.join(CODEC_CHOICES)}, got {self.codec!r}"
            )

    @property
    def packets(self) -> bool:
        """Whether a camera's own video packets are wanted (not for ``--codec jpeg``,
        ``raw`` or a resize, which need pictures)."""
        return self.codec != "jpeg" and self.encoding != "raw" and self.width is None

    def open(self) -> ThreadedSource:
        return open_source(
            self.source,
            self.name,
            open_timeout=self.timeout,
            read_timeout=self.timeout,
            rate=self.snapshot_rate,
            loop=self.loop,
            packets=self.packets,
        )


def default_names(count: int, base: str | None = None) -> list[str]:
    """``base`` (the host name by default), with ``-1``, ``-2``... when several cameras."""
    base = base or socket.gethostname().split(".")[0] or "camera"
    return [base] if count == 1 else [f"{base}-{i + 1}" for i in range(count)]


@dataclass(slots=True)
class _Meter:
    """Frames and bytes per second over the last few seconds."""

    events: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=512))

    def add(self, nbytes: int) -> None:
        self.events.append((time.monotonic(), nbytes))

    def rates(self, window: float = 3.0) -> tuple[float, float]:
        now = time.monotonic()
        recent = [(t, n) for t, n in self.events if now - t <= window]
        if not recent:
            return 0.0, 0.0
        span = max(now - recent[0][0], 1.0 / max(1, len(recent)), 0.5)
        return len(recent) / span, sum(n for _, n in recent) / span


class Outlet(Protocol):
    """Where a :class:`CameraWorker`'s frames go: a hub over ZeroMQ (a
    :class:`~camhub.sender.Sender`, for ``camhub send``) or the hub's own store (for
    cameras the hub pulls itself, :mod:`camhub.puller`)."""

    @property
    def refused(self) -> bool: ...

    @property
    def last_error(self) -> str | None: ...

    on_keyframe_needed: KeyframeRequest | None
    """Set by the worker: called when the outlet lost part of a group."""

    def accepts(self, codec: Codec) -> bool:
        """Whether video in ``codec`` goes out now (else the worker sends pictures)."""
        ...

    def send_frame(self, frame: Frame) -> bool: ...

    def interrupt(self) -> None: ...

    def close(self) -> None: ...


StateListener = Callable[["CameraWorker"], None]


class CameraWorker:
    """Streams one camera from its own thread: source ->
    :class:`~camhub.encoding.FrameEncoder` -> outlet.

    ``outlet`` makes the outlet inside the worker's thread (ZeroMQ sockets belong to the
    thread that uses them); by default a :class:`Sender` to ``hub``. ``on_state`` is
    called from that thread whenever :attr:`state` or :attr:`error` changes.
    ``encode_video=False``: pictures become H.264 only for ``codec="h264"`` (a hub that
    pulls a camera has no network to save).
    """

    def __init__(
        self,
        job: CameraJob,
        hub: str = "",
        *,
        window: int = 4,
        send_timeout: float = 2.0,
        make_source: Callable[[CameraJob], ThreadedSource] = CameraJob.open,
        security: SocketSecurity | None = None,
        outlet: Callable[[], Outlet] | None = None,
        on_state: StateListener | None = None,
        encode_video: bool = True,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.job = job
        self.clock = clock
        """What the ``--fps`` pacing reads and sleeps on (a test passes a manual one)."""
        self._make_outlet = outlet or self._new_sender
        self._on_state = on_state
        self.security = security
        self.hub = hub
        # Live cameras want fresh frames more than throughput: a small window bounds
        # how many frames a slow hub can have queued (Sender's default sizes it for speed).
        self.window = window
        self.send_timeout = send_timeout
        self.source = make_source(job)
        self.encoder = FrameEncoder(job, own_jpeg=self.source.own_jpeg, encode=encode_video)
        self.state = "starting"
        self.error: str | None = None
        self.sent = 0
        self.failed = 0
        self.bytes = 0
        self.last_size: tuple[int, int] | None = None
        self._meter = _Meter()
        self._stop = threading.Event()
        self._sender: Outlet | None = None
        # Daemon: a camera driver stuck in a blocking call must not keep the process alive.
        self._thread = threading.Thread(
            target=self._run, name=f"camhub-send-{job.name}", daemon=True
        )

    def start(self) -> CameraWorker:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        sender = self._sender
        if sender is not None:
            sender.interrupt()  # a send waiting on a dead hub gives up now

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _new_sender(self) -> Outlet:
        return Sender(
            self.hub,
            window=self.window,
            timeout=self.send_timeout,
            security=self.security,
            video=self.encoder.offer(),
        )

    def _set(self, state: str, error: str | None = None) -> None:
        changed = (state, error) != (self.state, self.error)
        self.state, self.error = state, error
        if changed and self._on_state is not None:
            try:
                self._on_state(self)
            except Exception:  # a listener's bug must not stop the camera
                log.exception("camera %s: state listener failed", self.job.name)

    def _run(self) -> None:
        sender = self._sender = self._make_outlet()
        sender.on_keyframe_needed = self.encoder.keyframe_needed
        if self._stop.is_set():
            sender.interrupt()
        try:
            self._loop(sender)
        except SourceEnded:
            self._set("ended", "the source ended")
            log.info("camera %s: source ended after %d frames", self.job.name, self.sent)
        except SourceError as exc:  # retrying cannot help (missing file, library...)
            self._set("failed", str(exc))
            log.error("%s", exc)
        except Exception as exc:
            self._set("failed", f"{type(exc).__name__}: {exc}")
            log.exception("camera %s: unexpected error; this camera stops", self.job.name)
        finally:
            self.source.stop()
            sender.close()

    def _loop(self, sender: Outlet) -> None:
        period = 1.0 / self.job.fps if self.job.fps else 0.0
        clock = self.clock
        next_at = clock.monotonic()
        stream = False
        """The camera sends video packets: every one is read, none is waited for."""
        self.source.start()
        while not self._stop.is_set():
            if period and not stream:
                # Wait for the next slot first, then take the newest frame: never a stale one.
                delay = next_at - clock.monotonic()
                if delay > 0 and clock.wait(self._stop, delay):
                    return
            try:
                frame = self.source.read(timeout=READ_WAIT)
            except SourceTimeout:
                status = self.source.status()
                if not status.connected:
                    self._set("offline", status.last_error)
                continue
            stream = frame.video is not None
            try:
                out = self.encoder.encode(frame, sender.accepts, more=self.source.pending > 0)
            except (JpegError, VideoError) as exc:  # one damaged frame must not stop the camera
                self.failed += 1
                log.debug("camera %s: skipped a frame: %s", self.job.name, exc)
                continue
            if out is None:
                continue
            # Pictures (the camera's, or decoded from its packets) go at most at --fps;
            # the camera's own packets all go, at the stream's pace.
            paced = bool(period) and not (stream and out.video is frame.video)
            if paced and stream and clock.monotonic() < next_at:
                continue
            self._send(sender, out)
            if paced:
                next_at = max(next_at + period, clock.monotonic())

    def _send(self, sender: Outlet, out: Frame) -> None:
        if sender.send_frame(out):
            self.sent += 1
            self.bytes += out.nbytes
            self._meter.add(out.nbytes)
            self._set("streaming")
        elif not self._stop.is_set():
            self.failed += 1
            # The sender knows why: refused (wrong key...) is not the same as down.
            self._set(
                "refused" if sender.refused else "hub down",
                sender.last_error or f"hub {self.hub} not answering",
            )
        self.last_size = (out.width or 0, out.height or 0)

    def status_line(self) -> str:
        fps, bps = self._meter.rates()
        size = f"{self.last_size[0]}x{self.last_size[1]}" if self.last_size else "-"
        line = (
            f"{self.job.name:<16.16} {self.state:<9} {fps:5.1f} fps {rate_text(bps):>10}  "
            f"{size:>9} {self.encoder.mode:<4}  sent {self.sent}"
        )
        dropped = self.source.dropped
        if dropped:
            line += f"  skipped {dropped}"
        if self.failed:
            line += f"  undelivered {self.failed}"
        if self.error and self.state != "streaming":
            line += f"  ({self.error})"
        return line


class Agent:
    """Streams several cameras to one hub: a :class:`CameraWorker` per camera."""

    def __init__(
        self,
        hub: str,
        jobs: Sequence[CameraJob],
        *,
        window: int = 4,
        send_timeout: float = 2.0,
        security: SocketSecurity | None = None,
        make_source: Callable[[CameraJob], ThreadedSource] = CameraJob.open,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        if not jobs:
            raise ArgumentError("no cameras to stream")
        names = [job.name for job in jobs]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise SourceError(f"camera names must be unique; repeated: {', '.join(duplicates)}")
        self.hub = check_endpoint(hub, what="hub address")
        self.workers: list[CameraWorker] = []
        try:
            for job in jobs:
                self.workers.append(
                    CameraWorker(
                        job,
                        self.hub,
                        window=window,
                        send_timeout=send_timeout,
                        security=security,
                        make_source=make_source,
                        clock=clock,
                    )
                )
        except BaseException:
            for worker in self.workers:
                worker.source.stop()
            raise

    def start(self) -> Agent:
        for worker in self.workers:
            worker.start()
        log.info("streaming %d camera(s) to %s", len(self.workers), self.hub)
        return self

    @property
    def running(self) -> bool:
        return any(worker.alive for worker in self.workers)

    def status_lines(self) -> list[str]:
        return [worker.status_line() for worker in self.workers]

    def stop(self, timeout: float = 10.0) -> None:
        for worker in self.workers:
            worker.stop()
        deadline = time.monotonic() + timeout
        for worker in self.workers:
            worker.join(max(0.1, deadline - time.monotonic()))
            if worker.alive:
                log.warning("camera %s did not stop in time", worker.job.name)
