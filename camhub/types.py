"""Shared types: the frame that flows through camhub, per-camera stats, and the small
interfaces between the boxes (source -> sender -> wire -> hub -> consumers).

Everything else imports from here. Below it are only :mod:`camhub.errors` (the error
classes, re-exported here), :mod:`camhub.jpeg` (which ``Frame`` uses to decode and encode
pictures) and :mod:`camhub.video`'s packet and decoder modules (``Frame.video``); none of
them imports this module.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from camhub.errors import (
    ArgumentError,
    ArgumentTypeError,
    CamhubError,
    ReceiveTimeout,
    SendTimeout,
    SlotClosed,
    SourceEnded,
    SourceError,
    VideoError,
)
from camhub.jpeg import JpegError, decode_jpeg, encode_jpeg
from camhub.video.packet import BitstreamError, VideoPacket, coded_size

CameraName = str
Encoding = Literal["jpeg", "raw", "other", "h264", "hevc", "vp8", "vp9"]
"""``other``: an opaque ``send_jpg`` payload that is not a JPEG camhub can decode (PNG,
WebP, the sender's own format...). It is carried and counted, never decoded. The video
codecs: a compressed video packet (:class:`camhub.video.VideoPacket`)."""
Image = npt.NDArray[np.generic]

# The error classes are re-exported: they lived here before camhub.errors existed.
__all__ = [
    "ArgumentError",
    "ArgumentTypeError",
    "CameraName",
    "CameraStats",
    "CamhubError",
    "Encoding",
    "Frame",
    "FrameQueue",
    "FrameSource",
    "FrameStore",
    "HubEvent",
    "HubEventKind",
    "HubView",
    "Image",
    "PeerStats",
    "PictureSource",
    "ReceiveTimeout",
    "SendTimeout",
    "SlotClosed",
    "SourceEnded",
    "SourceError",
    "SourceStatus",
    "VideoError",
]


class PictureSource(Protocol):
    """What makes a video frame's picture: the camera's decoder at the hub that received
    it (set on ``Frame.decoder`` by the store)."""

    def picture(self, frame: Frame) -> Image:
        """The frame's picture (BGR); raises :class:`VideoError` when it cannot be made."""
        ...


@dataclass(slots=True)
class Frame:
    """One camera image with its metadata.

    Exactly one of ``jpeg``, ``array``, ``payload`` and ``video`` is set when the frame is
    created.
    For the first two the other form is computed on first use (``image`` decodes,
    ``to_jpeg`` encodes) and cached, so a hub that only forwards JPEG bytes never decodes
    them. ``payload`` holds bytes that arrived as a JPEG but are not one camhub can decode
    (``encoding == "other"``); they are passed on untouched and never decoded.

    A ``video`` frame stays a video frame: its picture (``image``, which the camera's
    decoder makes) and a JPEG of it (``to_jpeg``) are cached beside the packet, and
    ``encoding``, ``nbytes`` and the wire keep describing the packet.

    ``array`` may be any numpy array imagezmq can carry (any dtype, 0 to N dimensions);
    ``width``/``height`` are filled in only for arrays of two or more dimensions.
    """

    name: CameraName
    jpeg: bytes | None = None
    array: Image | None = None
    seq: int | None = None
    """Sender's frame counter; ``None`` when the peer (e.g. imagezmq) sends none."""
    captured_at: float | None = None
    """Sender's wall-clock capture time (``time.time()``); ``None`` if not stamped."""
    received_at: float = field(default_factory=time.time)
    width: int | None = None
    height: int | None = None
    meta: dict[str, object] = field(default_factory=dict)
    """Extra JSON header keys the sender added (and that camhub does not interpret)."""
    payload: bytes | None = None
    """Opaque bytes sent as a JPEG that are not one camhub will decode (see ``encoding``)."""
    video: VideoPacket | None = None
    """One access unit of the camera's compressed video (H.264, H.265, VP8, VP9): it
    depends on the packets before it since the last keyframe, so its picture comes from
    the camera's decoder, not from this frame alone."""
    broken: bool = False
    """A video frame whose group lost a packet before it (or that came before any
    keyframe): it cannot be decoded, shown or recorded; the camera resumes at its next
    keyframe. Set by the hub's store."""
    decoder: PictureSource | None = field(default=None, repr=False, compare=False)
    """Where a video frame's picture comes from (set by the hub's store); without one
    only a keyframe can be decoded, on its own."""

    def __post_init__(self) -> None:
        array = self.array
        if array is not None and array.ndim >= 2 and (self.width is None or self.height is None):
            self.height, self.width = int(array.shape[0]), int(array.shape[1])
        video = self.video
        if video is not None and self.width is None and video.keyframe:
            try:  # a keyframe says its own size; a sender remembers it for the rest
                size = coded_size(video.codec, video.data)
            except BitstreamError:
                size = None
            if size is not None:
                self.width, self.height = size

    @property
    def encoding(self) -> Encoding:
        if self.video is not None:
            return self.video.codec
        if self.jpeg is not None:
            return "jpeg"
        return "raw" if self.array is not None else "other"

    @property
    def image(self) -> Image:
        """The pixels as a numpy array (BGR for colour, as OpenCV uses), decoded lazily.

        A video frame's picture comes from its camera's decoder (``decoder``), which may
        wait for the decoder to reach it; :class:`VideoError` when it cannot be made."""
        if self.array is None:
            if self.video is not None:
                array = self._video_picture()
            elif self.jpeg is None:
                raise JpegError(f"camera {self.name!r} sent a payload that is not a JPEG")
            else:
                array = decode_jpeg(self.jpeg)
            self.array = array
            self.height, self.width = int(array.shape[0]), int(array.shape[1])
        return self.array

    def _video_picture(self) -> Image:
        if self.broken:
            raise VideoError(
                f"camera {self.name!r}: a packet before this frame was lost, so it cannot be "
                "decoded; pictures resume at the next keyframe"
            )
        if self.decoder is not None:
            return self.decoder.picture(self)
        assert self.video is not None
        if not self.video.keyframe:
            raise VideoError(
                f"camera {self.name!r}: this video frame depends on packets it came without "
                "(only a keyframe decodes on its own)"
            )
        from camhub.video.decoder import decode_alone  # PyAV loads on first use

        return decode_alone(self.video)

    def to_jpeg(self, quality: int = 85) -> bytes:
        """The frame as JPEG bytes; encodes (once) only if the frame arrived raw."""
        if self.jpeg is None:
            self.jpeg = encode_jpeg(self.image, quality=quality)
        return self.jpeg

    @property
    def nbytes(self) -> int:
        """Size of the payload as it travelled on the wire."""
        if self.video is not None:
            return len(self.video.data)
        if self.jpeg is not None:
            return len(self.jpeg)
        if self.array is not None:
            return int(self.array.nbytes)
        return len(self.payload or b"")

    @property
    def age(self) -> float | None:
        """Seconds from capture to arrival at the hub, if the sender stamped the frame."""
        if self.captured_at is None:
            return None
        return self.received_at - self.captured_at


HubEventKind = Literal["camera_new", "camera_offline", "camera_online", "malformed"]


@dataclass(frozen=True, slots=True)
class HubEvent:
    """Something the hub noticed about a camera or a peer, published on its event bus."""

    kind: HubEventKind
    camera: CameraName | None
    at: float
    detail: str = ""


@dataclass(slots=True)
class CameraStats:
    """A snapshot of what the hub knows about one camera (safe to hand to other threads)."""

    name: CameraName
    online: bool
    frames: int
    bytes: int
    fps: float
    kbps: float
    dropped: int
    """Frames the sender numbered but the hub never received (gaps in ``seq``)."""
    malformed: int
    first_seen: float
    last_seen: float
    age_ms: float | None
    """Capture-to-hub age of the latest frame, in milliseconds."""
    width: int | None
    height: int | None
    encoding: Encoding | None
    peer: str | None
    """Network address of the sender of the latest frame."""
    source: str | None = None
    """Where the hub pulls the camera from, if it reads the camera itself."""
    reason: str | None = None
    """Why the camera is not streaming, when known."""
    unsupported: int = 0
    """Frames whose payload camhub carries but cannot show (``encoding == "other"``)."""
    broken: int = 0
    """Video frames that came after a lost packet in their group (or before any
    keyframe): never decoded, shown or recorded."""
    undecoded: int = 0
    """Intact video frames the decoder had to skip (it fell a group behind, or FFmpeg
    refused a packet): the decoder resumes at the next keyframe."""
    gop_cut: int = 0
    """Groups longer than the hub keeps for late joiners (they start at the next one)."""
    decoding: bool = False
    """Whether the camera's video decoder runs (someone wants its pictures)."""

    def as_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__slots__}


@dataclass(slots=True)
class PeerStats:
    """What one network peer sent; malformed traffic is attributed here, not to a camera."""

    peer: str
    messages: int = 0
    malformed: int = 0
    last_logged: float = 0.0


@dataclass(slots=True)
class SourceStatus:
    """What a camera source reports about itself."""

    uri: str
    connected: bool = False
    fps: float = 0.0
    frames: int = 0
    last_frame_at: float | None = None
    reconnects: int = 0
    last_error: str | None = None


class FrameSource(Protocol):
    """A camera: ``read()`` returns the newest frame not returned before, waiting at most
    ``timeout`` seconds (``TimeoutError`` after that); ``SourceEnded`` at end of stream."""

    name: CameraName

    def start(self) -> FrameSource: ...

    def read(self, timeout: float | None = None) -> Frame: ...

    def status(self) -> SourceStatus: ...

    def stop(self) -> None: ...


class FrameQueue(Protocol):
    """Every frame, in order, through a bounded queue (see ``FrameStore.subscribe``)."""

    dropped: int

    def get(self, timeout: float | None = None) -> Frame | None: ...

    def close(self) -> None: ...


class FrameStore(Protocol):
    """What consumers (dashboard, processors, recorder, display) see of a hub."""

    def camera_names(self) -> list[CameraName]: ...

    def latest(self, name: CameraName) -> Frame | None: ...

    def stats(self) -> list[CameraStats]: ...

    def camera_stats(self, name: CameraName) -> CameraStats | None: ...

    def frames(
        self, cameras: Iterable[CameraName] | None = None, timeout: float | None = None
    ) -> Iterator[Frame]:
        """The newest frame of each camera as it arrives; skipped frames are counted."""
        ...

    def subscribe(
        self, cameras: Iterable[CameraName] | None = None, maxsize: int = 64, name: str = ""
    ) -> FrameQueue:
        """Every frame from now on, for consumers that need all of them (recorders);
        never blocks ingest: a full queue drops its oldest frame and counts it."""
        ...

    def wait_newer(self, name: CameraName, count: int, timeout: float) -> tuple[Frame, int] | None:
        """Block until camera ``name`` has received more than ``count`` frames; return the
        latest frame and the new count, or ``None`` on timeout."""
        ...


class HubView(FrameStore, Protocol):
    """A :class:`FrameStore` plus the hub-level health the dashboard shows."""

    @property
    def running(self) -> bool: ...

    @property
    def endpoints(self) -> list[str]: ...

    @property
    def malformed(self) -> int: ...

    @property
    def messages(self) -> int: ...

    @property
    def offline_after(self) -> float: ...

    @property
    def security(self) -> object | None:
        """The receiving sockets' security settings (``CurveServer`` has refusal counts)."""
        ...

    def watch_video(
        self, name: CameraName, maxsize: int = 64, label: str = ""
    ) -> tuple[FrameQueue, list[Frame]]:
        """Every frame of camera ``name`` from now on (a bounded queue, see
        ``subscribe``) and, taken with it, its current video group from the keyframe to
        the newest (empty when there is none to start from): where a live viewer starts
        at once. The queue's first frame may repeat the group's last."""
        ...

    def peer_stats(self) -> list[PeerStats]: ...
