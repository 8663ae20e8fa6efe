"""The two ends of every transport benchmark, each run in its own process.

A *sender* process pushes one test frame over and over (or paced at ``fps``) until the
orchestrator raises a shared stop flag. A *hub* process runs one receive loop in a
thread and answers the orchestrator over a pipe: ``go`` starts a measuring window,
``exit`` shuts down. Keeping the hub in its own process means its CPU time and memory
are its own, not the orchestrator's.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.queues import Queue
from typing import Any

import imagezmq
import numpy as np
import zmq

import camhub
from bench.common import tutorial_decode, tutorial_jpeg, usage

Payload = np.ndarray | bytes
StopFlag = Any  # a multiprocessing RawValue("i"); typed loosely, ctypes has no stubs here


@dataclass(frozen=True, slots=True)
class SenderSpec:
    kind: str
    """A key of :data:`SENDERS`."""
    data: Payload
    """A raw array, or JPEG bytes (pre-encoded), or for ``*-live`` kinds the array to encode."""
    endpoint: str = ""
    index: int = 0
    fps: float | None = None
    """Pace the sender; ``None`` sends as fast as the peer takes frames."""
    window: int = 4
    """Frames in flight for camhub's pipelined Sender."""
    encoders: int = 2
    """Encoding threads for ``camhub-live``."""
    cpus: tuple[int, ...] = ()
    """Pin the process (and the threads it starts) to these CPUs; empty: no pinning."""

    @property
    def name(self) -> str:
        return f"cam{self.index}"


@dataclass(frozen=True, slots=True)
class HubSpec:
    kind: str
    """A key of :data:`LOOPS`."""
    raw: bool = False
    """The senders send raw arrays (imagezmq needs ``recv_image`` rather than ``recv_jpg``)."""
    decode: bool = False
    """Decode every JPEG, as imagezmq's tutorial hubs do."""
    work_s: float = 0.0
    """Simulated per-frame consumer work (sleep, so it holds no lock, like numpy/OpenCV)."""
    record_ages: bool = False
    connect_to: tuple[str, ...] = ()
    """PUB/SUB: the senders' bound addresses."""
    sample_rss_every: float = 0.0
    """Soak runs: sample the resident memory this often during the window."""
    cpus: tuple[int, ...] = ()
    """Pin the process (and the threads it starts) to these CPUs; empty: no pinning."""


@dataclass(slots=True)
class RunResult:
    frames: int
    """Frames the hub received during the window."""
    seconds: float
    cpu: float
    """Hub process CPU seconds (all threads) during the window."""
    rss: int
    consumed: int = 0
    """Frames handed to the consumer code (equals ``frames`` when there is no consumer)."""
    skipped: int = 0
    ages: list[float] = field(default_factory=list)
    """Capture-to-consumer age of each consumed frame, seconds."""
    rss_samples: list[int] = field(default_factory=list)
    sender_cpu: float = 0.0
    """CPU seconds of all sender processes together, over the same window."""

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


# -- senders ------------------------------------------------------------------------------


def _stamped(name: str) -> str:
    """imagezmq has no metadata field: the capture time rides in the message text."""
    return f"{name}|{time.time():.6f}"


def _pacer(fps: float | None) -> Callable[[], None]:
    if fps is None:
        return lambda: None
    period = 1.0 / fps
    next_at = [time.monotonic()]

    def pace() -> None:
        next_at[0] += period
        delay = next_at[0] - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            next_at[0] = time.monotonic()  # fell behind: do not burst to catch up

    return pace


def _send_push(spec: SenderSpec, running: Callable[[], bool], pace: Callable[[], None]) -> None:
    data = spec.data
    header = (
        camhub.protocol.encode_array(spec.name, data)[0]
        if isinstance(data, np.ndarray)
        else b'{"msg":"cam"}'
    )
    sock: zmq.Socket[bytes]
    with zmq.Context.instance().socket(zmq.PUSH) as sock:
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.SNDHWM, 8)
        sock.connect(spec.endpoint)
        while running():
            sock.send_multipart([header, spec.data], copy=False)
            pace()


def _send_req(spec: SenderSpec, running: Callable[[], bool], pace: Callable[[], None]) -> None:
    header = b'{"msg":"cam"}'
    sock: zmq.Socket[bytes]
    with zmq.Context.instance().socket(zmq.REQ) as sock:
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(spec.endpoint)
        while running():
            sock.send_multipart([header, spec.data], copy=False)
            sock.recv()
            pace()


def _send_imagezmq(spec: SenderSpec, running: Callable[[], bool], pace: Callable[[], None]) -> None:
    pub = spec.kind == "imagezmq-pub"
    sender = imagezmq.ImageSender(connect_to=spec.endpoint, REQ_REP=not pub)
    live = spec.kind == "imagezmq-live"
    try:
        while running():
            msg = _stamped(spec.name)
            if live:
                sender.send_jpg(msg, tutorial_jpeg(spec.data))  # type: ignore[arg-type]
            elif isinstance(spec.data, np.ndarray):
                sender.send_image(msg, spec.data)
            else:
                sender.send_jpg(msg, spec.data)
            pace()
    finally:
        sender.zmq_socket.setsockopt(zmq.LINGER, 0)
        sender.close()


def _send_camhub(spec: SenderSpec, running: Callable[[], bool], pace: Callable[[], None]) -> None:
    height, width = 480, 640
    sender: camhub.Sender | camhub.Publisher
    if spec.kind == "camhub-pub":
        sender = camhub.Publisher(spec.endpoint, bind=True)
    else:
        sender = camhub.Sender(spec.endpoint, window=spec.window, timeout=2.0)
    with sender:
        while running():
            if isinstance(spec.data, np.ndarray):
                sender.send_image(spec.name, spec.data)
            else:
                sender.send_jpeg(spec.name, spec.data, width=width, height=height)
            pace()
        if isinstance(sender, camhub.Sender):
            sender.flush(1.0)


def _send_camhub_live(
    spec: SenderSpec, running: Callable[[], bool], pace: Callable[[], None]
) -> None:
    """Encode on a small thread pool (libjpeg-turbo releases the GIL) while the
    pipelined sender moves the previous frames: encoding overlaps with sending."""
    image = spec.data
    assert isinstance(image, np.ndarray)
    height, width = image.shape[:2]
    pending: deque[tuple[float, Any]] = deque()
    with (
        camhub.Sender(spec.endpoint, window=spec.window, timeout=2.0) as sender,
        ThreadPoolExecutor(spec.encoders, thread_name_prefix="encode") as pool,
    ):
        while running():
            while len(pending) <= spec.encoders:
                pending.append((time.time(), pool.submit(camhub.encode_jpeg, image)))
            captured_at, job = pending.popleft()
            sender.send_jpeg(
                spec.name, job.result(), captured_at=captured_at, width=width, height=height
            )
            pace()
        sender.flush(1.0)


def _send_compat(spec: SenderSpec, running: Callable[[], bool], pace: Callable[[], None]) -> None:
    pub = spec.kind == "camhub-compat-pub"
    with camhub.ImageSender(connect_to=spec.endpoint, REQ_REP=not pub) as sender:
        while running():
            if isinstance(spec.data, np.ndarray):
                sender.send_image(spec.name, spec.data)
            else:
                sender.send_jpg(spec.name, spec.data)
            pace()


SENDERS: dict[str, Callable[[SenderSpec, Callable[[], bool], Callable[[], None]], None]] = {
    "push": _send_push,
    "req": _send_req,
    "imagezmq": _send_imagezmq,
    "imagezmq-live": _send_imagezmq,
    "imagezmq-pub": _send_imagezmq,
    "camhub": _send_camhub,
    "camhub-pub": _send_camhub,
    "camhub-live": _send_camhub_live,
    "camhub-compat": _send_compat,
    "camhub-compat-pub": _send_compat,
}


def _pin(cpus: tuple[int, ...]) -> None:
    # Before any ZeroMQ context exists: its I/O thread inherits the calling thread's mask.
    if cpus:
        os.sched_setaffinity(0, cpus)


def sender_main(spec: SenderSpec, stop: StopFlag, ready: Queue[int]) -> None:
    """Entry point of a sender process."""
    _pin(spec.cpus)
    ticks = [0]

    def running() -> bool:
        # Reading shared memory is cheap, but not free at 20,000 frames/s: look every 8th.
        ticks[0] += 1
        return ticks[0] & 7 != 0 or not stop.value

    ready.put(spec.index)
    SENDERS[spec.kind](
        spec, running if spec.fps is None else lambda: not stop.value, _pacer(spec.fps)
    )


# -- hub-side receive loops ---------------------------------------------------------------


class Loop:
    """A receive loop that counts frames; ``recording`` gates the per-frame samples."""

    endpoint = ""

    def __init__(self, spec: HubSpec) -> None:
        self.spec = spec
        self.count = 0
        self.consumed = 0
        self.recording = False
        self.ages: list[float] = []

    def run(self, stop: threading.Event) -> None:
        raise NotImplementedError

    @property
    def skipped(self) -> int:
        return 0

    @property
    def received(self) -> int:
        return self.count

    def consume(self, captured_at: float | None) -> None:
        """What a consumer does with a frame: note its age, then do its work."""
        if self.recording and captured_at is not None and self.spec.record_ages:
            self.ages.append(time.time() - captured_at)
        self.consumed += 1
        if self.spec.work_s:
            time.sleep(self.spec.work_s)

    def close(self) -> None:
        pass


class _BareLoop(Loop):
    def __init__(self, spec: HubSpec) -> None:
        super().__init__(spec)
        self.sock: zmq.Socket[bytes] = zmq.Context.instance().socket(
            zmq.PULL if spec.kind == "pull" else zmq.REP
        )
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.RCVTIMEO, 100)
        self.sock.setsockopt(zmq.RCVHWM, 8)
        port: int = self.sock.bind_to_random_port("tcp://127.0.0.1")
        self.endpoint = f"tcp://127.0.0.1:{port}"

    def run(self, stop: threading.Event) -> None:
        sock, reply = self.sock, self.spec.kind == "rep"
        while not stop.is_set():
            try:
                sock.recv_multipart(copy=False)
            except zmq.Again:
                continue
            if reply:
                sock.send(b"OK")
            self.count += 1

    def close(self) -> None:
        self.sock.close(linger=0)


def _age_from_msg(msg: str) -> float | None:
    _name, _, stamp = msg.partition("|")
    return float(stamp) if stamp else None


class _ImagezmqLoop(Loop):
    """imagezmq's tutorial hub: ``recv_*``, optionally decode, ``send_reply``; or a SUB
    hub that receives every queued frame in turn."""

    def __init__(self, spec: HubSpec) -> None:
        super().__init__(spec)
        if spec.connect_to:
            self.hub = imagezmq.ImageHub(open_port=spec.connect_to[0], REQ_REP=False)
            for address in spec.connect_to[1:]:
                self.hub.connect(address)
        else:
            from bench.common import free_port

            self.endpoint = f"tcp://127.0.0.1:{free_port()}"
            self.hub = imagezmq.ImageHub(open_port=self.endpoint)
        # A receive timeout instead of a poll per frame, so imagezmq runs at full speed
        # and the loop still notices the stop flag.
        self.hub.zmq_socket.setsockopt(zmq.RCVTIMEO, 100)
        self.hub.zmq_socket.setsockopt(zmq.LINGER, 0)

    def run(self, stop: threading.Event) -> None:
        hub, spec = self.hub, self.spec
        while not stop.is_set():
            try:
                if spec.raw:
                    msg, _image = hub.recv_image()
                else:
                    msg, jpeg = hub.recv_jpg()
                    if spec.decode:
                        tutorial_decode(jpeg)
            except zmq.Again:
                continue
            self.count += 1
            self.consume(_age_from_msg(msg))
            if hub.REQ_REP:
                hub.send_reply(b"OK")

    def close(self) -> None:
        self.hub.close()


class _CamhubLoop(Loop):
    """camhub's Hub on its own receive thread; a consumer (if any) iterates
    ``hub.frames()``, which hands out the newest frame per camera."""

    def __init__(self, spec: HubSpec) -> None:
        super().__init__(spec)
        if spec.connect_to:
            self.hub = camhub.Hub(bind=None, subscribe_to=list(spec.connect_to))
        else:
            self.hub = camhub.Hub(bind="tcp://127.0.0.1:0")
            self.endpoint = self.hub.endpoint
        self.hub.start()
        self.feed = self.hub.frames(timeout=0.1)

    @property
    def received(self) -> int:
        return self.hub.messages

    @property
    def skipped(self) -> int:
        return self.feed.skipped_total

    def run(self, stop: threading.Event) -> None:
        if not (self.spec.record_ages or self.spec.work_s):
            stop.wait()  # the hub's own thread does all the work
            return
        while not stop.is_set():
            for frame in self.feed:
                self.consume(frame.captured_at)
                if stop.is_set():
                    break

    def close(self) -> None:
        self.hub.stop()


class _CompatLoop(Loop):
    """camhub's drop-in ``ImageHub``, driven exactly like imagezmq's."""

    def __init__(self, spec: HubSpec) -> None:
        super().__init__(spec)
        if spec.connect_to:
            self.hub = camhub.ImageHub(open_port=spec.connect_to[0], REQ_REP=False)
            for address in spec.connect_to[1:]:
                self.hub.connect(address)
        else:
            self.hub = camhub.ImageHub(open_port="tcp://127.0.0.1:0")
            self.endpoint = self.hub.endpoint

    @property
    def skipped(self) -> int:
        return self.hub.skipped

    def run(self, stop: threading.Event) -> None:
        hub, spec = self.hub, self.spec
        while not stop.is_set():
            captured_at: float | None = None
            try:
                if spec.record_ages or spec.work_s:
                    frame = hub.recv_frame(timeout=0.1)  # camhub extension: has timestamps
                    captured_at = frame.captured_at
                elif spec.raw:
                    hub.recv_image(timeout=0.1)
                else:
                    hub.recv_jpg(timeout=0.1)
            except TimeoutError:
                continue
            self.count += 1
            if spec.record_ages or spec.work_s:
                self.consume(captured_at)
            hub.send_reply(b"OK")

    def close(self) -> None:
        self.hub.close()


LOOPS: dict[str, type[Loop]] = {
    "pull": _BareLoop,
    "rep": _BareLoop,
    "imagezmq": _ImagezmqLoop,
    "camhub": _CamhubLoop,
    "camhub-compat": _CompatLoop,
}


def hub_main(spec: HubSpec, conn: Connection) -> None:
    """Entry point of a hub process; see the module docstring for the pipe protocol."""
    _pin(spec.cpus)
    loop = LOOPS[spec.kind](spec)
    stop = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop,), name="bench-loop", daemon=True)
    thread.start()
    conn.send(("ready", loop.endpoint))
    try:
        if not conn.poll(60):
            return
        command, duration = conn.recv()
        if command != "go":
            return
        result = _measure(loop, spec, float(duration))
        conn.send(("result", result))
        conn.poll(30)  # wait for "exit" (or the orchestrator going away)
    finally:
        stop.set()
        thread.join(timeout=5)
        loop.close()


def _measure(loop: Loop, spec: HubSpec, duration: float) -> RunResult:
    start, consumed0, skipped0 = loop.received, loop.consumed, loop.skipped
    before = usage()
    loop.recording = True
    samples: list[int] = []
    end = before.at + duration
    while True:
        left = end - time.perf_counter()
        if left <= 0:
            break
        time.sleep(min(left, spec.sample_rss_every or left))
        if spec.sample_rss_every:
            samples.append(usage().rss)
    loop.recording = False
    after = usage()
    return RunResult(
        frames=loop.received - start,
        seconds=after.at - before.at,
        cpu=after.cpu - before.cpu,
        rss=after.rss,
        consumed=loop.consumed - consumed0,
        skipped=loop.skipped - skipped0,
        ages=list(loop.ages),
        rss_samples=samples,
    )
