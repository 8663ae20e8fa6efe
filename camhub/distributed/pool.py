"""``RayPool``: the detector pool of :class:`~camhub.detect.scheduler.ObjectDetection`,
served by detector actors on a Ray cluster instead of local worker processes.

The scheduler keeps doing what it does for local workers (newest frame per camera, at most
one in flight per camera, motion gating, skips counted, tracking and events); this pool
only changes where the detector runs. Each look travels as the encoded frame and the region
(:mod:`camhub.distributed.looks`): a frame that arrived as JPEG is sent as the very bytes
the camera sent, whatever the region, and the actor crops; a frame without a JPEG is sent
as a JPEG of the region, encoded once.

Before anything waits on the cluster, its address is probed with a plain TCP connection
(``PROBE_TIMEOUT``): a wrong address fails at once, with a message, where ``ray.init``
would retry for the whole ``connect_timeout``. Start-up stops at once when the ``abort``
event given to :meth:`RayPool.start` is set (the hub was asked to stop).

The Ray driver is a child process (:mod:`camhub.distributed.bridge`). When it dies, or no
actor has been usable for ``fallback_after`` seconds, the cluster counts as gone: in-flight
jobs come back as failed (the scheduler counts them and shows "detection failed,
restarting"), an error is logged, and with ``fallback="local"`` the same bridge runs the
detector in local threads, without Ray. The cluster is retried every ``retry_every``
seconds in the background; when it answers, detection moves back to it.
"""

from __future__ import annotations

import logging
import pickle
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from camhub.detect.base import Box, DetectorError
from camhub.detect.job import Prepared, Region
from camhub.detect.pool import Aborted, DetectorPool, DetectorSpec, Job, JobDone, Worker
from camhub.distributed.looks import RemoteLook, remote_look
from camhub.distributed.options import ClusterError, RayOptions
from camhub.distributed.output import relay
from camhub.distributed.stats import ActorStats, ClusterHealth
from camhub.types import ArgumentError, Frame

log = logging.getLogger("camhub.distributed")

PROBE_TIMEOUT = 3.0
"""Seconds a TCP connection to the cluster's address may take before it counts as down."""


def probe(address: str, timeout: float = PROBE_TIMEOUT) -> None:
    """Connect to ``HOST:PORT`` (or ``ray://HOST:PORT``) and hang up; raise
    :class:`ClusterError` saying why when nothing answers there."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    host = host.strip("[]")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return
    except TimeoutError:
        why = f"no answer within {timeout:g} s"
    except OSError as e:
        why = e.strerror or str(e)
    what = (
        "Ray Client server (ray start --head --ray-client-server-port"
        if address.startswith("ray://")
        else "Ray head node (ray start --head --port"
    )
    raise ClusterError(
        f"cannot reach the Ray cluster at {address}: {why}; is a {what}={port}) running "
        "there, and can this machine reach it?"
    )


@dataclass(slots=True)
class _Bridge:
    process: subprocess.Popen[bytes]
    conn: Connection
    cluster: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class _Sent:
    job: Job
    at: float


class RayPool(DetectorPool):
    """Same interface as :class:`DetectorPool` (a subclass so the scheduler takes it as
    is); "workers" are call slots on the cluster's actors."""

    def __init__(self, spec: DetectorSpec, options: RayOptions) -> None:
        super().__init__(spec, workers=1, load_timeout=options.connect_timeout)
        self.options = options
        # The scheduler hands back whatever free() returned; one token stands for "a call
        # slot somewhere on the cluster". It is never spawned.
        self._token = Worker(0, spec)
        self._token.state = "ready"
        self.workers = []
        self.state = "stopped"
        """``connecting`` (at start), ``running`` (on the cluster), ``fallback`` (cluster
        gone), or ``stopped``."""
        self.state_reason = ""
        self.cluster: dict[str, Any] = {}
        self.fallbacks = 0
        self.sent = 0
        self.lost = 0
        self.encoded = 0
        """Looks the hub had to JPEG-encode (frames without the camera's own JPEG)."""
        self._abort: threading.Event | None = None
        self._bridge: _Bridge | None = None
        self._local = False
        self._actors: list[dict[str, Any]] = []
        self._inflight: dict[int, _Sent] = {}
        self._early: list[JobDone] = []
        """Jobs answered without a round trip (submitted while no bridge was up)."""
        self._free = 0
        self._usable_at = 0.0
        self._retry_at = 0.0
        self._reconnect: threading.Thread | None = None
        self._reconnected: _Bridge | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    # -- DetectorPool interface ---------------------------------------------------------

    def start(self, abort: threading.Event | None = None) -> RayPool:
        """Connect and wait for the first actor; ``abort`` set meanwhile stops the wait
        (:class:`~camhub.detect.pool.Aborted`)."""
        self._abort = abort
        self._set_state("connecting", f"waiting for {self.options.where}")
        try:
            bridge = self._connect(self.options)
        finally:
            self._abort = None
        self._use(bridge, local=False)
        return self

    def free(self) -> Worker | None:
        if self._bridge is None or self._free <= 0:
            return None
        return self._token

    def prepare(self, frame: Frame, region: Region | None = None) -> Prepared:
        """The encoded frame and the region (the actor crops); a frame without a JPEG:
        a JPEG of the region. See :mod:`camhub.distributed.looks`."""
        look = remote_look(frame, region, self.input_size)
        if look.cropped:
            self.encoded += 1
        return look

    def submit(self, w: Worker, looks: list[Prepared], items: list[Any]) -> Job:
        if len(looks) != len(items):
            raise ArgumentError(f"{len(looks)} looks for {len(items)} items")
        job = Job(self._next_job, items, time.monotonic(), list(looks))
        self._next_job += 1
        bridge = self._bridge
        if bridge is None:  # free() said no; answer anyway so the cameras do not wait
            self._early.append(JobDone(self._token, job, None, error="no detection process"))
            return job
        sent = [look for look in looks if isinstance(look, RemoteLook)]
        assert len(sent) == len(looks), "a Ray pool sends looks it prepared itself"
        self._inflight[job.id] = _Sent(job, job.started)
        self._free -= 1
        self.sent += 1
        data = pickle.dumps(("frame", job.id, sent), protocol=pickle.HIGHEST_PROTOCOL)
        self.piped_bytes += len(data)
        try:
            bridge.conn.send_bytes(data)
        except OSError:
            pass  # the bridge died: the next poll notices and fails the job
        return job

    def poll(self, timeout: float) -> list[JobDone]:
        done, self._early = self._early, []
        if self._local or self._bridge is None:
            self._maybe_reconnect(done)
        bridge = self._bridge
        if bridge is None:
            time.sleep(timeout)
            return done
        try:
            wait([bridge.conn], timeout)  # the pipe also wakes us when the bridge dies
            while bridge.conn.poll(0):
                self._on_message(bridge.conn.recv(), done)
            if bridge.process.poll() is not None:
                raise EOFError("the detection process exited")
        except (EOFError, OSError) as e:
            self._lose_bridge(f"{e or 'the detection process exited'}", done)
            return done
        now = time.monotonic()
        if any(a["state"] == "ready" for a in self._actors):
            self._usable_at = now
        elif now - self._usable_at > self.options.fallback_after:
            self._lose_bridge(
                f"no detector actor usable for {self.options.fallback_after:g} s", done
            )
        return done

    def stop(self) -> None:
        self._stopping.set()
        if self._reconnect is not None:
            self._reconnect.join(timeout=15)
        bridge, self._bridge = self._bridge, None
        if bridge is not None:
            self._close(bridge)
        if self._reconnected is not None:
            self._kill(self._reconnected)
        self._set_state("stopped", "")

    def stats(self) -> list[ActorStats]:
        """Per actor: what local workers report (``worker``, ``state``, ...) plus where
        it runs and how it fails."""
        with self._lock:
            actors = list(self._actors)
        return [
            ActorStats(
                worker=a["index"],
                pid=a["pid"],
                state="busy" if a["state"] == "ready" and a["in_flight"] else a["state"],
                restarts=a["restarts"],
                inferences=a["served"],
                images=a["served"],
                avg_ms=a["infer_ms"],
                last_ms=a["infer_ms"],
                rss_mb=round(a["rss"] / 2**20, 1),
                last_error=a["last_error"] or None,
                backend="local" if self._local else "ray",
                node_id=a["node_id"],
                host=a["host"],
                in_flight=a["in_flight"],
                failures=a["failures"],
            )
            for a in actors
        ]

    # -- Ray specifics ------------------------------------------------------------------

    def grow(self, n: int = 1) -> None:
        """Start ``n`` more actors while running (they take calls once loaded)."""
        if n < 1:
            raise ClusterError(f"grow needs a positive number of actors, got {n}")
        if self._bridge is None or self._local:
            raise ClusterError("not connected to a Ray cluster")
        self._bridge.conn.send(("grow", n))

    def health(self) -> ClusterHealth:
        """Where detection runs and how it fares."""
        return ClusterHealth(
            backend="ray",
            address=self.options.address,
            state=self.state,
            reason=self.state_reason,
            fallbacks=self.fallbacks,
            cluster=dict(self.cluster),
            sent=self.sent,
            lost=self.lost,
            hub_encoded=self.encoded,
            actors=self.stats(),
        )

    # -- bridge ------------------------------------------------------------------------

    def _connect(self, options: RayOptions) -> _Bridge:
        if options.uses_ray and not options.is_local:
            probe(options.address)
        # A fresh interpreter (multiprocessing's spawn would re-import the caller's main
        # module) in its own session, so that Ctrl-C reaches only the hub, which then stops
        # the bridge in order.
        ours, theirs = socket.socketpair()
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "camhub.distributed.bridge", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                # Ray prints to its driver's terminal as it likes: read it, log it.
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            theirs.close()
        assert process.stdout is not None
        relay(process.stdout, f"camhub-bridge-output-{process.pid}")
        bridge = _Bridge(process, Connection(ours.detach()))
        try:
            bridge.conn.send((options, self.spec))
            self._await_first_actor(bridge, options)
        except BaseException:
            bridge.process.kill()  # it may be stuck inside ray.init
            self._kill(bridge)
            raise
        return bridge

    def _await_first_actor(self, bridge: _Bridge, options: RayOptions) -> None:
        where = options.where
        deadline = time.monotonic() + options.connect_timeout
        actors: list[dict[str, Any]] = []
        connected = False
        while time.monotonic() < deadline and not self._stopping.is_set():
            if self._abort is not None and self._abort.is_set():
                raise Aborted(f"stopped while waiting for {where}")
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
                actors = list(message[1])
                failed = [a for a in actors if a["state"] == "failed"]
                if failed and len(failed) == len(actors):
                    raise DetectorError(f"on {where}: {failed[0]['last_error']}")
                ready = [a for a in actors if a["state"] == "ready"]
                if ready:
                    size = ready[0]["input_size"]
                    self.labels = list(ready[0]["labels"])
                    self.input_size = (int(size[0]), int(size[1]))
                    self.batch_size = int(ready[0]["batch_size"])
                    return
        if self._stopping.is_set():
            raise ClusterError("stopped while connecting")
        if not connected:
            raise ClusterError(f"no answer from {where} within {options.connect_timeout:g} s")
        need = options.actor_options()
        errors = sorted({a["last_error"] for a in actors if a["last_error"]})
        raise ClusterError(
            f"no detector actor ready on {where} within {options.connect_timeout:g} s "
            f"(each needs num_cpus={need['num_cpus']:g}, num_gpus={need['num_gpus']:g}"
            + (f", resources={need['resources']}" if "resources" in need else "")
            + f"; the cluster has {bridge.cluster.get('resources', {})})"
            + (f"; actor errors: {'; '.join(errors)}" if errors else "")
        )

    def _kill(self, bridge: _Bridge, grace: float = 0.2) -> None:
        """Close the pipe (a healthy bridge then shuts Ray down by itself), then signal."""
        try:
            bridge.conn.close()
        except OSError:
            pass
        process = bridge.process
        for wait_s, signal_it in ((grace, process.terminate), (5.0, process.kill)):
            try:
                process.wait(timeout=wait_s)
                return
            except subprocess.TimeoutExpired:
                signal_it()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.error("the Ray driver process %d does not exit", process.pid)

    def _close(self, bridge: _Bridge) -> None:
        try:
            bridge.conn.send(("stop",))
        except OSError:
            pass
        self._kill(bridge, grace=10.0)  # ray.shutdown stops a local Ray cleanly

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

    def _set_state(self, state: str, reason: str) -> None:
        with self._lock:
            self.state, self.state_reason = state, reason

    # -- messages -----------------------------------------------------------------------

    def _on_message(self, message: tuple[Any, ...], done: list[JobDone]) -> None:
        kind = message[0]
        if kind == "result":
            _, req, boxes, _actor, ms, _rss = message
            sent = self._inflight.pop(req, None)
            if sent is not None:
                self._free += 1
                result: list[list[Box]] = boxes
                done.append(JobDone(self._token, sent.job, result, ms))
        elif kind in ("lost", "skip"):
            sent = self._inflight.pop(message[1], None)
            if sent is not None:
                reason = "no free actor" if kind == "skip" else f"actor {message[2]}: {message[3]}"
                if kind == "lost":
                    self.lost += 1
                    self._actor_failed(message[2], message[3])
                    log.warning("detection: job lost on %s", reason)
                done.append(JobDone(self._token, sent.job, None, error=reason))
        elif kind == "health":
            self._on_health(message[1], message[2])
        elif kind == "error":
            raise EOFError(message[1])

    def _actor_failed(self, index: int, reason: str) -> None:
        """Show a lost job's actor as failed now, not at the bridge's next health report
        (which brings its own count): one failure per reason, however many jobs it lost."""
        with self._lock:
            for a in self._actors:
                if a["index"] == index and a["last_error"] != reason:
                    a["failures"] += 1
                    a["last_error"] = reason

    def _on_health(self, actors: Sequence[dict[str, Any]], free: int) -> None:
        with self._lock:
            before = {a["index"]: a["state"] for a in self._actors}
            self._actors = list(actors)
        # The bridge's count misses jobs still in the pipe towards it.
        in_pipe = len(self._inflight) - sum(a["in_flight"] for a in actors)
        self._free = free - max(0, in_pipe)
        for a in actors:
            if before.get(a["index"], "starting") != a["state"]:
                log.log(
                    logging.WARNING if a["state"] == "down" else logging.INFO,
                    "detector actor %d %s on %s (node %s)%s",
                    a["index"],
                    a["state"],
                    a["host"] or "?",
                    a["node_id"][:8] or "?",
                    f": {a['last_error']}" if a["state"] == "down" and a["last_error"] else "",
                )

    # -- losing and regaining the cluster ---------------------------------------------

    def _fail_inflight(self, done: list[JobDone], reason: str) -> None:
        for sent in self._inflight.values():
            self.lost += 1
            done.append(JobDone(self._token, sent.job, None, error=reason))
        self._inflight.clear()
        self._free = 0

    def _lose_bridge(self, reason: str, done: list[JobDone]) -> None:
        lost = len(self._inflight)
        self._fail_inflight(done, reason)
        bridge, self._bridge = self._bridge, None
        if bridge is not None:
            bridge.process.kill()  # a driver whose cluster is gone hangs in ray.shutdown
            self._kill(bridge)
        with self._lock:
            self._actors = []
        if self._local:
            log.error(
                "LOCAL FALLBACK DETECTION FAILED: %s; detection is off until the Ray cluster "
                "is back",
                reason,
            )
            self._local = False
            self._set_state("fallback", f"{self.state_reason}; local fallback failed: {reason}")
            return
        self.fallbacks += 1
        local = self.options.fallback == "local"
        log.error(
            "DETECTION CLUSTER LOST (%s): %s; %d in-flight jobs lost; falling back to %s, "
            "retrying the cluster every %g s; ingest goes on",
            self.options.address,
            reason,
            lost,
            f"local detection ({self.options.fallback_workers} threads)" if local else "none",
            self.options.retry_every,
        )
        self._set_state("fallback", reason)
        self._retry_at = time.monotonic() + self.options.retry_every
        if local:
            try:
                self._use(self._connect(self.options.local_fallback()), local=True)
            except (ClusterError, DetectorError) as e:
                log.error("local fallback detection failed to start (%s); detection is off", e)

    def _maybe_reconnect(self, done: list[JobDone]) -> None:
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
            self._fail_inflight(done, "detection moved back to the Ray cluster")
            if old is not None:
                self._close(old)
            self._use(bridge, local=False)
            log.warning("Ray cluster %s is back: detection runs on it again", self.options.address)
            return
        if time.monotonic() >= self._retry_at and not self._stopping.is_set():
            self._reconnect = threading.Thread(
                target=self._try_cluster, name="camhub-ray-reconnect", daemon=True
            )
            self._reconnect.start()

    def _try_cluster(self) -> None:
        try:
            self._reconnected = self._connect(self.options)
        except (ClusterError, DetectorError) as e:
            log.warning("Ray cluster %s still unusable: %s", self.options.address, e)
