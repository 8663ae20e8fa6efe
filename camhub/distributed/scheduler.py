"""Hub side of Ray detection: newest frame per camera to a free actor, results back.

One thread does everything (no locks around the bookkeeping except for readers): it reads
the bridge's pipe, sends each camera's newest frame when the camera has nothing in flight
and the cluster has a free call slot, and hands results to ``on_result`` — the same
tracking and event path local detection feeds. Frames that arrive while their camera
waits are never sent; they are counted as skipped when the next one goes.

When the bridge dies, or no actor has been usable for ``fallback_after`` seconds, the
cluster counts as gone: in-flight frames are counted lost, an error is logged, and (with
``fallback="local"``) the same bridge runs the same detector in local worker threads of its
own process, without Ray. The cluster is retried every ``retry_every`` seconds in the
background; when it answers, detection moves back to it.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from camhub.detect.base import Box
from camhub.distributed.options import ClusterError, RayOptions
from camhub.types import CameraName, Frame, FrameStore

log = logging.getLogger("camhub.distributed")

OnResult = Callable[[Frame, list[Box]], None]


@dataclass(slots=True)
class CameraDetectStats:
    camera: CameraName
    sent: int = 0
    """Frames sent to an actor."""
    done: int = 0
    """Frames whose detections came back."""
    lost: int = 0
    """Frames sent but never answered: their actor or node died, or it timed out."""
    skipped: int = 0
    """Frames never sent: a newer one came first, or no actor was free."""
    in_flight: bool = False
    last_actor: int | None = None
    rtt_ms: float = 0.0
    """Recent hub -> actor -> hub time per frame (exponential average)."""
    infer_ms: float = 0.0
    last_result_at: float | None = None


@dataclass(slots=True)
class ActorHealth:
    index: int
    state: str
    node_id: str = ""
    host: str = ""
    pid: int = 0
    in_flight: int = 0
    served: int = 0
    failures: int = 0
    restarts: int = 0
    infer_ms: float = 0.0
    state_since: float = 0.0
    last_error: str = ""


@dataclass(slots=True)
class _Sent:
    camera: CameraName
    frame: Frame
    at: float


@dataclass(slots=True)
class _Camera:
    stats: CameraDetectStats
    count: int = 0
    last_sent: float = 0.0


@dataclass(slots=True)
class _Bridge:
    process: subprocess.Popen[bytes]
    conn: Connection
    cluster: dict[str, Any] = field(default_factory=dict)


class RayDetection:
    """Runs a detector on every camera (or ``cameras``) on a Ray cluster.

    ``on_result(frame, boxes)`` runs on this object's thread for each answered frame; keep
    it quick (tracking is). ``detect_fps`` caps how often one camera is sent."""

    def __init__(
        self,
        store: FrameStore,
        options: RayOptions,
        on_result: OnResult,
        *,
        cameras: Iterable[CameraName] | None = None,
        detect_fps: float | None = None,
    ) -> None:
        if detect_fps is not None and detect_fps <= 0:
            raise ClusterError(f"detect_fps must be positive, got {detect_fps}")
        self.store = store
        self.options = options
        self.on_result = on_result
        self.wanted = None if cameras is None else set(cameras)
        self.interval = 0.0 if detect_fps is None else 1.0 / detect_fps
        self.state = "stopped"
        """``running`` (on the cluster), ``fallback`` (cluster gone), or ``stopped``."""
        self.state_reason = ""
        self.cluster: dict[str, Any] = {}
        self.result_errors = 0
        self.fallbacks = 0
        self._bridge: _Bridge | None = None
        self._cameras: dict[CameraName, _Camera] = {}
        self._inflight: dict[int, _Sent] = {}
        self._actors: list[ActorHealth] = []
        self._free = 0
        self._next_req = 0
        self._usable_at = 0.0
        self._retry_at = 0.0
        self._local = False
        """The active bridge runs the fallback (local threads), not the cluster."""
        self._reconnect: threading.Thread | None = None
        self._reconnected: _Bridge | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- life cycle --------------------------------------------------------------------

    def start(self) -> RayDetection:
        """Connect and wait for the first actor; :class:`ClusterError` if that fails."""
        self._use(self._connect(), local=False)
        self._thread = threading.Thread(target=self._run, name="camhub-ray", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
        if self._reconnect is not None:
            self._reconnect.join(timeout=self.options.connect_timeout + 15)
        self._close_bridge()
        if self._reconnected is not None:
            self._kill(self._reconnected)
        self._set_state("stopped", "")

    def grow(self, n: int = 1) -> None:
        """Start ``n`` more actors (they take calls once their model is loaded)."""
        if n < 1:
            raise ClusterError(f"grow needs a positive number of actors, got {n}")
        bridge = self._bridge
        if bridge is None:
            raise ClusterError("not connected to a Ray cluster")
        bridge.conn.send(("grow", n))

    # -- what the dashboard and /metrics show -----------------------------------------

    def actors(self) -> list[ActorHealth]:
        with self._lock:
            return [ActorHealth(**asdict(a)) for a in self._actors]

    def camera_stats(self) -> list[CameraDetectStats]:
        with self._lock:
            return [CameraDetectStats(**asdict(c.stats)) for _, c in sorted(self._cameras.items())]

    def health(self) -> dict[str, Any]:
        """JSON-ready summary for ``/api``."""
        actors = self.actors()
        return {
            "backend": "ray",
            "address": self.options.address,
            "state": self.state,
            "reason": self.state_reason,
            "fallbacks": self.fallbacks,
            "cluster": self.cluster,
            "actors": [asdict(a) for a in actors],
            "cameras": [asdict(c) for c in self.camera_stats()],
        }

    # -- bridge ------------------------------------------------------------------------

    def _connect(self, options: RayOptions | None = None) -> _Bridge:
        # A fresh interpreter (not multiprocessing's spawn, which re-imports the caller's
        # main module) in its own session, so that Ctrl-C reaches the hub, which then
        # stops the bridge in order.
        ours, theirs = socket.socketpair()
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "camhub.distributed.bridge", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            theirs.close()
        conn = Connection(ours.detach())
        bridge = _Bridge(process, conn)
        try:
            conn.send(options or self.options)
            self._await_first_actor(bridge, options or self.options)
        except BaseException:
            bridge.process.kill()  # it may be stuck inside ray.init
            self._kill(bridge)
            raise
        return bridge

    def _await_first_actor(self, bridge: _Bridge, options: RayOptions) -> None:
        where = options.where
        deadline = time.monotonic() + options.connect_timeout
        actors: list[ActorHealth] = []
        connected = False
        while time.monotonic() < deadline and not self._stop.is_set():
            try:
                if not bridge.conn.poll(0.2):
                    if bridge.process.poll() is not None:
                        raise ClusterError(f"the Ray driver process for {where} exited")
                    continue
                message = bridge.conn.recv()
            except (EOFError, OSError):
                raise ClusterError(f"the Ray driver process for {where} exited") from None
            kind = message[0]
            if kind == "error":
                raise ClusterError(message[1])
            if kind == "ready":
                bridge.cluster = message[1]
                connected = True
            elif kind == "health":
                actors = [ActorHealth(**a) for a in message[1]]
                if any(a.state == "ready" for a in actors):
                    return
        if self._stop.is_set():
            raise ClusterError("stopped while connecting")
        if not connected:
            raise ClusterError(f"no answer from {where} within {self.options.connect_timeout:g} s")
        need = self.options.actor_options()
        errors = {a.last_error for a in self._actors if a.last_error}
        raise ClusterError(
            f"no detector actor ready on {where} within {self.options.connect_timeout:g} s "
            f"(each needs num_cpus={need['num_cpus']:g}, num_gpus={need['num_gpus']:g}"
            + (f", resources={need['resources']}" if "resources" in need else "")
            + f"; the cluster has {bridge.cluster.get('resources', {})})"
            + (f"; actor errors: {'; '.join(sorted(errors))}" if errors else "")
        )

    def _kill(self, bridge: _Bridge, *, grace: float = 0.2) -> None:
        """Close the pipe (a healthy bridge then shuts Ray down by itself), then signal."""
        try:
            bridge.conn.close()
        except OSError:
            pass
        process = bridge.process
        for wait, signal_it in ((grace, process.terminate), (5.0, process.kill)):
            try:
                process.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                signal_it()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.error("the Ray driver process %d does not exit", process.pid)

    def _close_bridge(self) -> None:
        bridge, self._bridge = self._bridge, None
        if bridge is not None:
            self._close(bridge)

    def _close(self, bridge: _Bridge) -> None:
        try:
            bridge.conn.send(("stop",))
        except OSError:
            pass
        try:
            bridge.process.wait(timeout=10)  # ray.shutdown stops a local Ray cleanly
        except subprocess.TimeoutExpired:
            pass
        self._kill(bridge)

    # -- the loop ----------------------------------------------------------------------

    def _use(self, bridge: _Bridge, *, local: bool) -> None:
        self._bridge, self._local = bridge, local
        self._free = 0  # until the bridge's first health report
        self._usable_at = time.monotonic()
        with self._lock:
            self._actors = []
            if not local:
                self.cluster = bridge.cluster
        if local:
            self._set_state("fallback", self.state_reason)
        else:
            self._set_state("running", "")

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._local or self._bridge is None:
                self._maybe_reconnect()
            bridge = self._bridge
            if bridge is None:
                self._stop.wait(0.2)
                continue
            try:
                if bridge.conn.poll(0.01):
                    while bridge.conn.poll(0):
                        self._on_message(bridge.conn.recv())
                elif bridge.process.poll() is not None:
                    raise EOFError("the driver process exited")
            except (EOFError, OSError) as e:
                self._lose_bridge(f"the detection process exited ({e or 'cluster unreachable?'})")
                continue
            now = time.monotonic()
            if any(a.state == "ready" for a in self._actors):
                self._usable_at = now
            elif now - self._usable_at > self.options.fallback_after:
                self._lose_bridge(f"no detector actor usable for {self.options.fallback_after:g} s")
                continue
            try:
                self._dispatch(bridge)
            except OSError:
                self._lose_bridge("the pipe to the detection process broke")

    def _camera(self, name: CameraName) -> _Camera:
        cam = self._cameras.get(name)
        if cam is None:
            with self._lock:
                cam = self._cameras[name] = _Camera(CameraDetectStats(name))
        return cam

    def _dispatch(self, bridge: _Bridge) -> None:
        if self._free <= 0:
            return
        now = time.monotonic()
        names = [n for n in self.store.camera_names() if self.wanted is None or n in self.wanted]
        waiting = sorted(
            (c for c in (self._camera(n) for n in names) if not c.stats.in_flight),
            key=lambda c: c.last_sent,
        )
        for cam in waiting:
            if self._free <= 0:
                break
            if self.interval and now - cam.last_sent < self.interval:
                continue
            got = self.store.wait_newer(cam.stats.camera, cam.count, 0)
            if got is None:
                continue
            frame, count = got
            with self._lock:
                if cam.count:
                    cam.stats.skipped += count - cam.count - 1
                cam.count = count
                cam.stats.sent += 1
                cam.stats.in_flight = True
            cam.last_sent = now
            req = self._next_req = self._next_req + 1
            self._inflight[req] = _Sent(cam.stats.camera, frame, now)
            self._free -= 1
            bridge.conn.send(("frame", req, frame.to_jpeg()))

    def _on_message(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "result":
            _, req, boxes, actor, infer_ms = message
            sent = self._inflight.pop(req, None)
            if sent is None:
                return
            cam = self._camera(sent.camera)
            rtt = (time.monotonic() - sent.at) * 1000
            with self._lock:
                s = cam.stats
                s.done += 1
                s.in_flight = False
                s.last_actor = actor
                s.rtt_ms = rtt if s.done == 1 else 0.8 * s.rtt_ms + 0.2 * rtt
                s.infer_ms = infer_ms if s.done == 1 else 0.8 * s.infer_ms + 0.2 * infer_ms
                s.last_result_at = time.time()
            self._free += 1
            try:
                self.on_result(sent.frame, boxes)
            except Exception:
                self.result_errors += 1
                log.exception("detection result handler failed on %s", sent.camera)
        elif kind in ("lost", "skip"):
            sent = self._inflight.pop(message[1], None)
            if sent is None:
                return
            cam = self._camera(sent.camera)
            with self._lock:
                cam.stats.in_flight = False
                if kind == "lost":
                    cam.stats.lost += 1
                    cam.stats.last_actor = message[2]
                else:
                    cam.stats.skipped += 1
            if kind == "lost":
                log.warning(
                    "detection: frame of %s lost on actor %s: %s",
                    sent.camera,
                    message[2],
                    message[3],
                )
        elif kind == "health":
            self._on_health(message[1], message[2])
        elif kind == "error":
            raise EOFError(message[1])

    def _on_health(self, actors: Sequence[dict[str, Any]], free: int) -> None:
        with self._lock:
            before = {a.index: a.state for a in self._actors}
            self._actors = [ActorHealth(**a) for a in actors]
        # The bridge's count ignores frames still in the pipe towards it.
        self._free = free - sum(1 for _ in self._inflight) + sum(a.in_flight for a in self._actors)
        for a in self._actors:
            if before.get(a.index, "starting") != a.state:
                level = logging.WARNING if a.state == "down" else logging.INFO
                log.log(
                    level,
                    "detector actor %d %s on %s (%s)%s",
                    a.index,
                    a.state,
                    a.host or "?",
                    a.node_id[:8] or "?",
                    f": {a.last_error}" if a.state == "down" and a.last_error else "",
                )

    # -- losing and regaining the cluster ---------------------------------------------

    def _set_state(self, state: str, reason: str) -> None:
        with self._lock:
            self.state, self.state_reason = state, reason

    def _lose_bridge(self, reason: str) -> None:
        lost = self._drop_inflight()
        bridge, self._bridge = self._bridge, None
        if bridge is not None:
            # A driver whose cluster is gone hangs in ray.shutdown: no grace.
            bridge.process.kill()
            self._kill(bridge)
        with self._lock:
            self._actors = []
        if self._local:
            log.error(
                "LOCAL FALLBACK DETECTION FAILED: %s; detection is off until the "
                "Ray cluster is back",
                reason,
            )
            self._local = False
            self._set_state("fallback", f"{self.state_reason}; local fallback failed: {reason}")
            return
        with self._lock:
            self.fallbacks += 1
        local = self.options.fallback == "local"
        log.error(
            "DETECTION CLUSTER LOST (%s): %s; %d in-flight frames lost; falling back to %s, "
            "retrying the cluster every %g s; ingest goes on",
            self.options.address,
            reason,
            lost,
            f"local detection ({self.options.fallback_workers} workers)" if local else "none",
            self.options.retry_every,
        )
        self._set_state("fallback", reason)
        self._retry_at = time.monotonic() + self.options.retry_every
        if local:
            try:
                self._use(self._connect(self.options.local_fallback()), local=True)
            except ClusterError as e:
                log.error("local fallback detection failed to start (%s); detection is off", e)

    def _drop_inflight(self) -> int:
        with self._lock:
            for sent in self._inflight.values():
                cam = self._cameras[sent.camera]
                cam.stats.lost += 1
                cam.stats.in_flight = False
            lost = len(self._inflight)
            self._inflight.clear()
        return lost

    def _maybe_reconnect(self) -> None:
        """In fallback: try the cluster in the background; switch when it answers."""
        if self._reconnect is not None:
            if self._reconnect.is_alive():
                return
            self._reconnect = None
            bridge, self._reconnected = self._reconnected, None
            if bridge is None:
                self._retry_at = time.monotonic() + self.options.retry_every
                return
            old, self._bridge = self._bridge, None
            self._drop_inflight()
            if old is not None:
                self._close(old)
            self._use(bridge, local=False)
            log.warning("Ray cluster %s is back: detection runs on it again", self.options.address)
            return
        if time.monotonic() >= self._retry_at:
            self._reconnect = threading.Thread(
                target=self._try_cluster, name="camhub-ray-reconnect", daemon=True
            )
            self._reconnect.start()

    def _try_cluster(self) -> None:
        try:
            self._reconnected = self._connect()
        except ClusterError as e:
            log.warning("Ray cluster %s still unusable: %s", self.options.address, e)
