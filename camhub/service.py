"""The hub as a service: receiver, processors, dashboard and display in one process, with
periodic status lines and a clean stop. ``camhub hub`` and ``camhub demo`` are thin
wrappers around :class:`HubService`, which runs a :class:`~camhub.config.FleetConfig`.

Bad settings never get as far as a bound port or a created directory: the config is
validated (purely) before the service exists; the constructor then does the read-only
checks (key files, token file, model files, GUI, dashboard access); only ``start`` binds,
creates and spawns.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from camhub.config import FleetConfig, HubConfig
from camhub.detect.config import DetectConfig, check_files
from camhub.detect.scheduler import ObjectDetection
from camhub.display import Display, check_gui, open_display
from camhub.distributed import RayOptions, RayPool
from camhub.events import EventManager
from camhub.history import History
from camhub.hub import Hub
from camhub.notify import Sink
from camhub.notify.setup import build_sinks
from camhub.phones.setup import PhoneSetup, prepare
from camhub.processing import ProcessorRunner, processor_class
from camhub.puller import Puller
from camhub.security.options import reload_keys_on_sighup
from camhub.transport import SocketSecurity
from camhub.types import CameraName, CameraStats, CamhubError, HubEvent
from camhub.units import clock_text, duration_text, rate_text
from camhub.web.phone import Phones
from camhub.web.server import WebServer, check_access, parse_address

log = logging.getLogger("camhub.service")


class OptionError(CamhubError, ValueError):
    """A service option is out of range."""


@dataclass(slots=True)
class ProcessorChoice:
    type_name: str
    cameras: list[CameraName] | None = None
    """``None``: every camera, including ones that connect later."""

    @classmethod
    def parse(cls, text: str) -> ProcessorChoice:
        """``motion`` or ``motion:cam1,cam2``."""
        type_name, _, cams = text.partition(":")
        processor_class(type_name.strip())  # unknown names fail here, with the known ones
        names = [c for c in cams.split(",") if c] if cams else None
        return cls(type_name.strip(), names)


def status_line(stats: CameraStats, now: float) -> str:
    if not stats.online:
        since, gone = clock_text(stats.last_seen), duration_text(now - stats.last_seen)
        return (
            f"camera {stats.name}: still offline since {since} ({gone}; "
            f"{stats.frames} frames in total)"
        )
    parts = [f"{stats.fps:.1f} fps"]
    if stats.width and stats.height:
        parts.append(f"{stats.width}x{stats.height}")
    if stats.encoding:
        parts.append(stats.encoding)
    if stats.age_ms is not None:
        parts.append(f"age {stats.age_ms:.0f} ms")
    parts.append(rate_text(stats.kbps * 1000 / 8))
    parts.append(f"{stats.frames} frames")
    if stats.dropped:
        parts.append(f"{stats.dropped} dropped")
    if stats.malformed:
        parts.append(f"{stats.malformed} malformed")
    return f"camera {stats.name}: online, " + ", ".join(parts) + f", from {stats.peer}"


class HubService:
    """Runs a validated :class:`~camhub.config.FleetConfig`: the constructor checks what
    only the file system can tell (keys, token and model files) and binds nothing;
    ``start`` / ``run`` / ``stop`` do the rest."""

    def __init__(self, config: FleetConfig) -> None:
        self.config = config
        hub = config.hub
        self.web_token = hub.web_token if hub.web_token_file is None else _read_token(hub)
        if hub.web_address is not None and not hub.phones:  # phones: exposed, with a token
            host, _ = parse_address(hub.web_address)
            check_access(host, expose=hub.web_expose, token=self.web_token)
        if hub.display != "none":
            check_gui(hub.display)
        detect = config.detection()
        if detect is not None and detect.on == "local":  # a cluster reads its own copy
            check_files(detect.backend())
        self.processors = [ProcessorChoice.parse(text) for text in hub.processors]
        self.pull = config.pulled()
        self.record = config.record_settings()
        self.data: Path | None = hub.data_dir()
        self.security: SocketSecurity | None = hub.security.build()  # reads the key files
        self.sinks: list[Sink] = build_sinks(config.sinks())
        self.phone_setup: PhoneSetup | None = None
        self.hub: Hub | None = None
        self.web: WebServer | None = None
        self.display: Display | None = None
        self.runners: list[ProcessorRunner] = []
        self.puller: Puller | None = None
        self.detection: ObjectDetection | None = None
        self.phones: Phones | None = None
        self.offline_events = 0
        self._reminded: dict[CameraName, float] = {}
        self.history: History | None = None
        self.events: EventManager | None = None
        """Active events and their counts (the history's, or one that stores nothing)."""

    def start(self, stop: threading.Event | None = None) -> HubService:
        """Start everything; ``stop`` set while detection waits for its model or its
        cluster calls that wait off (the dashboard is already up by then)."""
        config, opts = self.config, self.config.hub
        web, expose, token = opts.web_address, opts.web_expose, self.web_token
        tls_cert, tls_key = opts.tls_cert, opts.tls_key
        if opts.phones:  # its files first: a folder it cannot write stops us before binding
            setup = self.phone_setup = prepare(
                opts.phones_dir,
                tls_cert=tls_cert,
                tls_key=tls_key,
                web_token=token,
                host=opts.phones_host,
            )
            tls_cert, tls_key, token = setup.tls_cert, setup.tls_key, setup.web_token
            expose = True  # reaching it from the LAN is the point
        reload_keys_on_sighup(self.security)
        hub = self.hub = Hub(
            bind=opts.binds, offline_after=opts.offline_after, security=self.security
        )
        try:
            hub.add_listener(self._on_event)
            if self.data is not None:  # before any frame: a bad data dir stops us here
                self.history = History(hub.store, hub.bus, self.data, self.record)
            self.events = EventManager(hub.bus) if self.history is None else self.history.manager
            for sink in self.sinks:  # each on its own bounded queue of the hub's bus
                sink.start(hub.bus)
            # After the sinks: the ends of events a dead hub left open go out to them.
            if self.history is not None:
                self.history.start()
            else:
                self.events.start()
            hub.start()
            for name in config.expected():
                hub.store.declare(name)
                hub.store.set_reason(name, "waiting for its sender (camhub send) to connect")
            if self.pull:
                self.puller = Puller(hub.store, self.pull).start()
            for choice in self.processors:
                self.runners.append(hub.add_processor(choice.type_name, cameras=choice.cameras))
            detect = config.detection()
            if detect is not None:
                self.detection = build_detection(hub, detect, detect.ray_options)
            if self.phone_setup is not None:
                self.phones = Phones(
                    self.phone_setup.registry,
                    hub.store.put,
                    limits=hub.limits,
                    bus=hub.bus,
                    count_malformed=hub.store.count_malformed,
                )
            if web is not None:
                self.web = WebServer(
                    hub,
                    web,
                    processors=self.runners,
                    sinks=self.sinks,
                    detection=self.detection,
                    expose=expose,
                    token=token,
                    tls_cert=tls_cert,
                    tls_key=tls_key,
                    history=self.history,
                    phones=self.phones,
                ).start()
                if self.phones is not None and self.phone_setup is not None:
                    self.phones.join_base = self.phone_setup.base_url(self.web.port)
            if self.detection is not None and detect is not None:
                # After the dashboard: a cluster may take a while to answer.
                start_detection(self.detection, detect, detect.ray_options, abort=stop)
            self.display = open_display(opts.display, hub)
        except BaseException:
            self.stop()
            raise
        log.info("receiving frames on %s", ", ".join(hub.endpoints))
        return self

    def _on_event(self, event: HubEvent) -> None:
        if event.kind == "camera_offline":
            self.offline_events += 1

    @property
    def url(self) -> str | None:
        return None if self.web is None else self.web.url

    @property
    def join_url(self) -> str | None:
        """The link (and QR code) that lets a phone join, with ``--phones``."""
        return None if self.phones is None else self.phones.join_url

    def log_status(self) -> None:
        if self.hub is None:
            return
        stats = self.hub.stats()
        if not stats:
            log.info("no cameras yet; senders connect to %s", ", ".join(self.hub.endpoints))
        now = time.time()
        for s in stats:
            if s.online:
                self._reminded.pop(s.name, None)
                log.info("%s", status_line(s, now))
            elif self._offline_reminder_due(s.name):
                log.warning("%s", status_line(s, now))
        if self.detection is not None:
            for cs in self.detection.camera_stats():
                log.info(
                    "detection on %s: %s, %.1f looks/s, %d inferences, %d without motion, "
                    "%d skipped, %.0f ms/inference",
                    cs.camera,
                    cs.status,
                    cs.detect_fps,
                    cs.inferences,
                    cs.no_motion,
                    cs.skipped,
                    cs.inference_ms,
                )
        for runner in self.runners:
            for ws in runner.stats():
                log.info(
                    "processor %s on %s: %d processed, %d skipped, %d errors, %.1f ms/frame",
                    runner.name,
                    ws.camera,
                    ws.processed,
                    ws.skipped,
                    ws.errors,
                    ws.avg_ms,
                )
        if self.history is not None:
            for problem in self.history.health():
                log.error("%s", problem)  # every status tick until it is fixed
            rec = self.history.recorder
            if rec is not None:
                log.info(
                    "recorder: %d frames seen, %d dropped, %d segments deleted by retention",
                    rec.seen,
                    rec.frames.dropped,
                    rec.deleted,
                )
        for sink in self.sinks:
            st = sink.stats()
            log.info(
                "%s sink %s (%s): %s, %d sent, %d dropped, %d errors%s",
                st.type,
                st.name,
                st.target,
                "connected" if st.connected else "NOT connected",
                st.sent,
                st.dropped,
                st.errors,
                f", last error: {st.last_error}" if st.last_error else "",
            )

    def _offline_reminder_due(self, name: CameraName) -> bool:
        # The hub logged the outage when it began; repeat it only every offline_reminder s.
        now = time.monotonic()
        last = self._reminded.setdefault(name, now)
        if now - last < self.config.hub.offline_reminder:
            return False
        self._reminded[name] = now
        return True

    def run(self, stop: threading.Event, duration: float | None = None) -> None:
        """Serve until ``stop`` is set (signals set it), ``duration`` passes or the user
        closes the display with q/Esc. Call from the main thread when displaying."""
        deadline = None if duration is None else time.monotonic() + duration
        every = self.config.hub.status_every
        next_status = time.monotonic() + every if every > 0 else None
        tick = 0.03 if self.config.hub.display != "none" else 0.2
        while not stop.is_set():
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                break
            if next_status is not None and now >= next_status:
                self.log_status()
                next_status = now + every
            if self.display is not None and not self.display.update():
                log.info("display closed by the user")
                break
            stop.wait(tick)

    def stop(self) -> None:
        if self.display is not None:
            self.display.close()
        if self.detection is not None:
            self.detection.stop()  # before the hub: its last events still need the bus
        if self.puller is not None:
            self.puller.stop()
        for runner in self.runners:  # the producers stop first, then every event still
            runner.stop()  # going on ends, and each end goes out: sinks, event stream
        if self.history is not None:
            self.history.end_events()
        elif self.events is not None:
            self.events.end_active()
        if self.web is not None:
            self.web.stop()
        for sink in self.sinks:  # before the hub closes the bus under them
            sink.flush(timeout=1.0)  # a short grace for events already queued
            sink.stop()
        if self.hub is not None:
            self.hub.stop()  # also stops the processors
        if self.history is not None:
            self.history.stop()
        elif self.events is not None:
            self.events.stop()


def build_detection(hub: Hub, cfg: DetectConfig, ray: RayOptions | None = None) -> ObjectDetection:
    """Detection as configured, not started: local worker processes, or with ``ray``
    detector actors on that cluster."""
    pool = None if ray is None else RayPool(cfg.spec(), ray)
    return ObjectDetection(
        hub.store,
        hub.bus,
        cfg.spec(),
        labels=cfg.labels,
        workers=cfg.workers,
        detect_fps=cfg.detect_fps,
        cameras=cfg.camera_settings(),
        motion_gated=cfg.motion_gated,
        recheck_s=cfg.recheck_s,
        job_timeout=cfg.job_timeout,
        pool=pool,
    )


def start_detection(
    det: ObjectDetection,
    cfg: DetectConfig,
    ray: RayOptions | None = None,
    abort: threading.Event | None = None,
) -> ObjectDetection:
    """Start the detector workers or actors (a model that cannot load fails here, naming
    the file); ``abort`` set meanwhile leaves detection off."""
    if ray is not None:
        log.info("waiting for detector actors on %s (Ctrl-C to stop)", ray.where)
    det.start(abort)
    if not det.running:
        return det
    backend = cfg.backend()
    log.info(
        "detecting %s with %s (%d worker%s, %.0f looks/s per camera%s)",
        ", ".join(cfg.labels) or "every label",
        backend.options().get("model")
        or ("the built-in YOLOv3-tiny" if backend.default else f"the {backend.type} detector"),
        cfg.workers,
        "" if cfg.workers == 1 else "s",
        cfg.detect_fps,
        ", motion-gated" if cfg.motion_gated else "",
    )
    if ray is not None:
        log.info(
            "detector actors on %s: %d, each with %g CPU and %g GPU",
            ray.where,
            ray.actors,
            ray.num_cpus,
            ray.num_gpus,
        )
    return det


def parse_processors(values: Sequence[str]) -> list[ProcessorChoice]:
    return [ProcessorChoice.parse(v) for v in values]


def _read_token(hub: HubConfig) -> str:
    assert hub.web_token_file is not None
    path = Path(hub.web_token_file).expanduser()
    try:
        lines = path.read_text().strip().splitlines()
    except OSError as exc:
        raise OptionError(f"cannot read --web-token-file {path}: {exc.strerror or exc}") from None
    if not lines or not lines[0].strip():
        raise OptionError(f"--web-token-file {path} is empty")
    return lines[0].strip()
