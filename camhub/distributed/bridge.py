"""The bridge: a child process of the hub that is the Ray driver.

It owns the detector actors and forwards frames to them. Ray terminates a driver whose
cluster has been unreachable for a minute, so the driver must not be the hub: when this
process dies the hub counts its in-flight frames as lost and falls back, and ingest goes on.

Messages over the pipe (pickled tuples):

===========================================  ==============================================
hub -> bridge                                meaning
===========================================  ==============================================
``("frame", req, [look, ...])``              detect on these looks (``RemoteLook``)
``("grow", n)``                              start ``n`` more actors
``("stop",)``                                shut down
===========================================  ==============================================

=============================================  ============================================
bridge -> hub                                  meaning
=============================================  ============================================
``("ready", cluster)``                         connected; ``cluster``: resources, nodes
``("error", text)``                            cannot go on (then the process exits)
``("result", req, boxes, actor, ms, rss)``     a Box list per image of ``req``
``("lost", req, actor, reason)``               the actor died or did not answer in time
``("skip", req)``                              no actor had room (the hub over-sent)
``("health", actors, free)``                   per-actor state; ``free`` call slots
=============================================  ============================================
"""

from __future__ import annotations

import importlib
import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from camhub.detect.spec import DetectorSpec
from camhub.distributed.options import RayOptions
from camhub.distributed.output import BRIDGE_FORMAT

log = logging.getLogger("camhub.distributed.bridge")

HEALTH_EVERY = 1.0
PROBE_AGAIN = 1.0


@dataclass(slots=True)
class _Slot:
    """One actor as the bridge sees it."""

    index: int
    handle: Any
    state: str = "starting"
    """``starting`` (loading its model), ``ready``, ``down`` (failed; being probed) or
    ``failed`` (its model cannot load; not retried)."""
    inflight: dict[int, float] = field(default_factory=dict)
    busy_since: float = 0.0
    """When the actor started its current call: calls run one at a time, so a queued
    call's clock starts when the one before it answers (an overloaded node is slow,
    not lost)."""
    info: dict[str, Any] = field(default_factory=dict)
    served: int = 0
    failures: int = 0
    restarts: int = 0
    infer_ms: float = 0.0
    """Recent inference time (exponential average)."""
    probe_gen: int = 0
    probe_sent: float = 0.0
    probe_due: float | None = None
    state_since: float = field(default_factory=time.time)
    last_error: str = ""

    def set_state(self, state: str) -> None:
        if state != self.state:
            self.state, self.state_since = state, time.time()

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "state": self.state,
            "state_since": self.state_since,
            "node_id": self.info.get("node_id", ""),
            "host": self.info.get("host", ""),
            "pid": self.info.get("pid", 0),
            "in_flight": len(self.inflight),
            "served": self.served,
            "failures": self.failures,
            "restarts": self.restarts,
            "infer_ms": round(self.infer_ms, 2),
            "rss": self.info.get("rss", 0),
            "labels": self.info.get("labels", []),
            "input_size": self.info.get("input_size", (0, 0)),
            "batch_size": self.info.get("batch_size", 1),
            "last_error": self.last_error,
        }


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first}"[:300]


def _load_error(exc: BaseException) -> str:
    """The ``DetectorError: ...`` line from a failed actor creation, if that is what failed
    (Ray wraps the creation task's exception in its own text)."""
    for line in str(exc).splitlines():
        line = line.strip()
        if "DetectorError: " in line:
            return line[line.index("DetectorError: ") :][:300]
    return ""


class Bridge:
    def __init__(self, conn: Connection, options: RayOptions, spec: DetectorSpec, ray: Any) -> None:
        self.conn = conn
        self.options = options
        self.spec = spec
        self.ray = ray
        self.events: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self.slots: list[_Slot] = []
        self.actor_class = ray.remote(_actor_class())
        self._stop = False
        self._next_health = 0.0

    # -- actors ------------------------------------------------------------------------

    def grow(self, n: int) -> None:
        for _ in range(max(0, n)):
            handle = self.actor_class.options(**self.options.actor_options()).remote(self.spec)
            slot = _Slot(len(self.slots), handle)
            self.slots.append(slot)
            self._probe(slot)

    def _probe(self, slot: _Slot) -> None:
        """Ask the actor where it runs; its answer (after a restart too) makes it ready."""
        slot.probe_gen += 1
        slot.probe_sent = time.monotonic()
        slot.probe_due = None
        gen = slot.probe_gen
        fut = slot.handle.info.remote().future()
        fut.add_done_callback(lambda f: self.events.put(("probe", slot.index, gen, f)))

    def _on_probe(self, slot: _Slot, gen: int, fut: Any) -> None:
        if gen != slot.probe_gen:
            return
        try:
            info = fut.result()
        except Exception as e:
            load_error = _load_error(e)
            if load_error and not slot.info:
                # The model cannot load (missing file, bad layout): restarts will not help.
                slot.last_error = load_error
                slot.set_state("failed")
                self._send_health()
                return
            slot.last_error = _reason(e)
            slot.probe_due = time.monotonic() + PROBE_AGAIN
            if slot.state == "ready":
                slot.set_state("down")
            return
        if slot.info and info.get("instance") != slot.info.get("instance"):
            slot.restarts += 1
        slot.info = info
        slot.set_state("ready")
        self._send_health()

    def _fail(self, slot: _Slot, reason: str, *, hung: bool = False) -> None:
        """The actor died or hung: every frame it holds is lost; probe until it is back.

        A hung actor (a call past ``call_timeout``) is killed so that Ray restarts it:
        its process may be alive and stuck in the model, which no restart policy sees.
        On a node that is gone the kill changes nothing."""
        if hung:
            try:
                self.ray.kill(slot.handle, no_restart=False)
            except Exception as e:  # the kill is best effort: the probe decides
                log.warning("could not kill hung actor %d: %s", slot.index, _reason(e))
        slot.failures += 1
        slot.last_error = reason
        for req in list(slot.inflight):
            self._send(("lost", req, slot.index, reason))
        slot.inflight.clear()
        if slot.state != "down":
            slot.set_state("down")
            self._probe(slot)
        self._send_health()

    # -- frames ------------------------------------------------------------------------

    def free(self) -> int:
        return sum(self.options.depth - len(s.inflight) for s in self.slots if s.state == "ready")

    def _submit(self, req: int, looks: list[Any]) -> None:
        ready = [
            s for s in self.slots if s.state == "ready" and len(s.inflight) < self.options.depth
        ]
        if not ready:
            self._send(("skip", req))
            return
        slot = min(ready, key=lambda s: (len(s.inflight), s.served))
        if not slot.inflight:
            slot.busy_since = time.monotonic()
        slot.inflight[req] = time.monotonic()
        index = slot.index
        fut = slot.handle.detect.remote(looks).future()
        fut.add_done_callback(lambda f: self.events.put(("done", index, req, f)))

    def _on_done(self, slot: _Slot, req: int, fut: Any) -> None:
        if slot.inflight.pop(req, None) is None:
            return  # already counted lost (timed out); a late answer is dropped
        slot.busy_since = time.monotonic()  # the next queued call starts now
        try:
            boxes, ms, rss = fut.result()
        except self.ray.exceptions.RayActorError as e:
            slot.inflight[req] = 0.0  # so that _fail reports it with the others
            self._fail(slot, _reason(e))
            return
        except Exception as e:  # the detector raised on this frame; the actor lives on
            slot.failures += 1
            slot.last_error = _reason(e)
            self._send(("lost", req, slot.index, slot.last_error))
            return
        slot.served += 1
        slot.infer_ms = ms if slot.served == 1 else 0.8 * slot.infer_ms + 0.2 * ms
        slot.info["rss"] = rss
        self._send(("result", req, boxes, slot.index, ms, rss))

    def _check_timeouts(self) -> None:
        now = time.monotonic()
        limit = self.options.call_timeout
        for slot in self.slots:
            if slot.inflight and now - slot.busy_since > limit:
                self._fail(
                    slot, f"no answer within {limit:g} s (node lost or model hung)", hung=True
                )
            elif slot.probe_due is not None and now >= slot.probe_due:
                self._probe(slot)
            elif slot.state == "down" and now - slot.probe_sent > max(limit, 10.0):
                self._probe(slot)  # a probe lost with a node never answers

    # -- loop --------------------------------------------------------------------------

    def _send(self, message: tuple[Any, ...]) -> None:
        try:
            self.conn.send(message)
        except (OSError, ValueError):
            self._stop = True  # the hub is gone

    def _send_health(self) -> None:
        self._send(("health", [s.as_dict() for s in self.slots], self.free()))
        self._next_health = time.monotonic() + HEALTH_EVERY

    def _read_hub(self) -> None:
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                self.events.put(("hub", ("stop",)))
                return
            self.events.put(("hub", message))
            if message[0] == "stop":
                return

    def run(self) -> None:
        threading.Thread(target=self._read_hub, name="camhub-bridge-read", daemon=True).start()
        handlers: dict[str, Callable[..., None]] = {
            "done": lambda i, req, fut: self._on_done(self.slots[i], req, fut),
            "probe": lambda i, gen, fut: self._on_probe(self.slots[i], gen, fut),
        }
        while not self._stop:
            try:
                event = self.events.get(timeout=0.2)
            except queue.Empty:
                event = None
            if event is not None:
                kind, *args = event
                if kind == "hub":
                    self._on_hub(args[0])
                else:
                    handlers[kind](*args)
            self._check_timeouts()
            if time.monotonic() >= self._next_health:
                self._send_health()

    def _on_hub(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "frame":
            self._submit(message[1], message[2])
        elif kind == "grow":
            self.grow(int(message[1]))
            self._send_health()
        elif kind == "stop":
            self._stop = True


def _actor_class() -> type:
    from camhub.distributed.actor import DetectorActor

    return DetectorActor


def main(conn: Connection) -> None:
    """Entry point of the bridge process; the hub sends the options and detector first."""
    try:
        options: RayOptions
        spec: DetectorSpec
        options, spec = conn.recv()
    except (EOFError, OSError):
        return
    logging.basicConfig(level=logging.WARNING, format=BRIDGE_FORMAT)  # the hub re-logs them
    where = options.where
    ray: Any
    if not options.uses_ray:
        from camhub.distributed.local import LocalRay

        ray = LocalRay()
    else:
        try:
            ray = importlib.import_module("ray")  # Ray is only partly typed
        except ImportError:
            conn.send(("error", "Ray is not installed; install it with: pip install 'camhub[ray]'"))
            return
        try:
            common: dict[str, Any] = {
                "namespace": "camhub",
                "log_to_driver": False,
                "logging_level": logging.WARNING,
            }
            if options.is_local:
                ray.init(
                    address="local",
                    num_cpus=options.local_cpus,
                    include_dashboard=False,
                    **common,
                )
            else:
                ray.init(address=options.address, **common)
        except Exception as e:
            conn.send(("error", f"cannot connect to {where}: {_reason(e)}"))
            return
    try:
        cluster = {
            "resources": ray.cluster_resources(),
            "nodes": sum(1 for n in ray.nodes() if n.get("Alive")),  # int, not bool
        }
        bridge = Bridge(conn, options, spec, ray)
        conn.send(("ready", cluster))
        bridge.grow(options.actors)
        bridge.run()
    except Exception as e:
        try:
            conn.send(("error", f"detection on {where} failed: {_reason(e)}"))
        except OSError:
            pass
    finally:
        ray.shutdown()
        if not options.uses_ray:
            # A local actor thread stuck in its model cannot be joined; do not wait for it.
            os._exit(0)


if __name__ == "__main__":
    main(Connection(int(sys.argv[1])))
