"""The hub: receives frames from any number of senders and keeps the newest frame of
every camera for consumers.

:class:`Hub` is the facade over three parts, each usable alone:

* :class:`~camhub.receiver.Receiver`: the ZeroMQ sockets and the receive thread
  (request/reply, PUB/SUB in both topologies), decoding and per-peer accounting;
* :class:`~camhub.store.CameraStore`: per-camera state, the newest frame, offline
  watch, latest-frame feeds and bounded per-frame subscriptions;
* :class:`~camhub.bus.EventBus`: camera and error events, delivered off the receive
  thread.

Processors, detection, the recorder and the notification sinks take the store and the
bus, not the hub. The display and the dashboard are handed the hub, typed as the narrow
protocols they read (:class:`~camhub.types.FrameStore`; :class:`~camhub.types.HubView`,
which adds the receiver's health), never as :class:`Hub`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from camhub import protocol
from camhub.bus import BusSubscription, EventBus
from camhub.protocol import DEFAULT_LIMITS, Limits
from camhub.receiver import Receiver
from camhub.store import CameraStore, FrameFeed, FrameSubscription
from camhub.transport import SocketSecurity
from camhub.types import CameraName, CameraStats, Frame, HubEvent, PeerStats
from camhub.video.packet import CODECS, Codec
from camhub.video.track import VideoSettings

if TYPE_CHECKING:
    from camhub.processing import ProcessorRunner
    from camhub.processing.runner import ProcessorSpec

__all__ = ["FrameFeed", "Hub", "Listener"]

Listener = Callable[[HubEvent], None]


def _as_list(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


class Hub:
    """Receives frames from any number of senders; see the module docstring.

    ``video``: the video codecs the hub takes (senders that offer video are told; ``()``
    makes it a JPEG-only hub). Video cameras are decoded only while someone wants their
    pictures (``video_settings`` bounds what is kept and when decoders stop)."""

    def __init__(
        self,
        bind: str | Sequence[str] | None = "tcp://*:5555",
        *,
        subscribe_to: str | Sequence[str] | None = None,
        sub_bind: str | Sequence[str] | None = None,
        reply: bytes = protocol.DEFAULT_REPLY,
        limits: Limits = DEFAULT_LIMITS,
        offline_after: float = 5.0,
        security: SocketSecurity | None = None,
        video: Sequence[Codec] = CODECS,
        video_settings: VideoSettings | None = None,
    ) -> None:
        self.bus = EventBus()
        self.store = CameraStore(self.bus, offline_after=offline_after, video=video_settings)
        self.receiver = Receiver(
            self.store.put,
            self.bus,
            bind=_as_list(bind),
            subscribe_to=_as_list(subscribe_to),
            sub_bind=_as_list(sub_bind),
            reply=reply,
            limits=limits,
            security=security,
            video=video,
            on_malformed=self.store.count_malformed,
        )
        self.processors: list[ProcessorRunner] = []
        self._listeners: list[BusSubscription] = []

    # -- set-up and life cycle ------------------------------------------------------

    @property
    def reply(self) -> bytes:
        return self.receiver.reply

    @property
    def limits(self) -> Limits:
        return self.receiver.limits

    @property
    def offline_after(self) -> float:
        return self.store.offline_after

    @property
    def security(self) -> SocketSecurity | None:
        """The security the hub's sockets use (``CurveServer.stats()`` has refusals)."""
        return self.receiver.security

    @property
    def endpoints(self) -> list[str]:
        """Addresses actually bound (ports resolved), in the order given."""
        return self.receiver.endpoints

    @property
    def endpoint(self) -> str:
        """The first bound address, with the port resolved (handy with port 0)."""
        return self.receiver.endpoints[0]

    @property
    def malformed(self) -> int:
        return self.receiver.malformed

    @property
    def messages(self) -> int:
        return self.receiver.messages

    @property
    def running(self) -> bool:
        """Whether the receive thread is alive (for health checks)."""
        return self.receiver.running

    def connect(self, address: str) -> None:
        """Also subscribe to a PUB sender at ``address`` (imagezmq's ``hub.connect``)."""
        self.receiver.connect(address)

    def add_listener(self, listener: Listener) -> BusSubscription:
        """Call ``listener(event)`` for every :class:`HubEvent`, on a thread of its own
        (a slow listener delays only itself; see :class:`~camhub.bus.EventBus`)."""
        sub = self.bus.subscribe(
            listener, name=getattr(listener, "__name__", "listener"), kinds=(HubEvent,)
        )
        self._listeners.append(sub)
        return sub

    def add_processor(
        self,
        processor: ProcessorSpec,
        cameras: Iterable[CameraName] | None = None,
        **options: object,
    ) -> ProcessorRunner:
        """Run ``processor`` (a function, a Processor class or a registered name such as
        ``"motion"``) on every camera's newest frames, off the receive path; it stops with
        the hub. See :mod:`camhub.processing`."""
        from camhub.processing import ProcessorRunner

        runner = ProcessorRunner(
            self.store, processor, cameras=cameras, options=options, bus=self.bus
        ).start()
        self.processors.append(runner)
        return runner

    def start(self) -> Hub:
        self.store.start()
        self.receiver.start()
        return self

    def stop(self) -> None:
        for runner in self.processors:
            runner.stop()
        self.receiver.stop()
        self.store.stop()
        self.bus.close()

    close = stop

    def __enter__(self) -> Hub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what the receiver knows --------------------------------------------------------

    def peer_stats(self) -> list[PeerStats]:
        return self.receiver.peer_stats()

    # -- consumer side (FrameStore, delegated to the store) -----------------------------

    def put(self, frame: Frame, peer: str) -> None:
        """Ingest a frame from outside the sockets (pulled cameras, browser phones)."""
        self.store.put(frame, peer)

    def camera_names(self) -> list[CameraName]:
        return self.store.camera_names()

    def latest(self, name: CameraName) -> Frame | None:
        return self.store.latest(name)

    def stats(self) -> list[CameraStats]:
        return self.store.stats()

    def camera_stats(self, name: CameraName) -> CameraStats | None:
        return self.store.camera_stats(name)

    def wait_newer(self, name: CameraName, count: int, timeout: float) -> tuple[Frame, int] | None:
        return self.store.wait_newer(name, count, timeout)

    def frames(
        self, cameras: Iterable[CameraName] | None = None, timeout: float | None = None
    ) -> FrameFeed:
        """Iterate over new frames as they arrive, newest per camera, cameras in turn.

        ``timeout`` ends the iteration when nothing new arrives for that long.
        """
        return self.store.frames(cameras, timeout)

    def watch_video(
        self, name: CameraName, maxsize: int = 64, label: str = ""
    ) -> tuple[FrameSubscription, list[Frame]]:
        """Every frame of camera ``name`` from now on, and its current video group since
        its keyframe; see :meth:`CameraStore.watch_video`."""
        return self.store.watch_video(name, maxsize, label)

    def subscribe(
        self, cameras: Iterable[CameraName] | None = None, maxsize: int = 64, name: str = ""
    ) -> FrameSubscription:
        """Every frame from now on, through a bounded queue; see :meth:`CameraStore.subscribe`."""
        return self.store.subscribe(cameras, maxsize, name)
