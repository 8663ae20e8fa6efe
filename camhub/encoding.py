"""What one camera sends, frame by frame: the choice between the camera's own video, H.264
encoded here, JPEG and raw arrays, made from ``--codec`` and from what the hub takes.

``--codec auto`` (the default): a camera that sends H.264/H.265 (RTSP, a video file)
passes its packets through untouched; a camera that gives pictures (a webcam, the test
pattern, the demo scenes, a Pi camera) is encoded as H.264 here; an MJPEG or snapshot
camera's own JPEGs pass through. ``--codec h264`` encodes MJPEG cameras too, and
``--codec jpeg`` sends JPEG as camhub always did. Whatever was asked, a hub that takes no
video (an imagezmq hub, the compat ``ImageHub``, an older camhub), or one that has not said
yet (right after a connect), gets JPEG: packets are decoded only while that lasts, and the
camera switches to video at its next keyframe once the hub says it takes it.

Decoding (for JPEG) keeps the latest-frame rule: every packet is decoded in order, but only
the newest picture is encoded and sent when more packets are already waiting.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

from camhub.jpeg import encode_jpeg
from camhub.types import Encoding, Frame, Image, VideoError
from camhub.video.packet import CODECS, Codec

if TYPE_CHECKING:
    from camhub.video.encoder import H264Encoder
    from camhub.video.pictures import PictureDecoder

log = logging.getLogger("camhub.agent")

CodecChoice = Literal["auto", "h264", "jpeg"]
CODEC_CHOICES: tuple[CodecChoice, ...] = ("auto", "h264", "jpeg")

Accepts = Callable[[Codec], bool]
"""``accepts(codec)``: whether the outlet takes video in ``codec`` now."""


class CameraJob(Protocol):
    """What :class:`FrameEncoder` reads of a camera's job (:class:`camhub.agent.CameraJob`)."""

    @property
    def name(self) -> str: ...
    @property
    def codec(self) -> CodecChoice: ...
    @property
    def encoding(self) -> Encoding: ...
    @property
    def width(self) -> int | None: ...
    @property
    def quality(self) -> int: ...
    @property
    def reencode(self) -> bool: ...


class FrameEncoder:
    """Turns one camera's frames into frames for the wire (see the module docstring).
    Used from the camera's thread."""

    def __init__(self, job: CameraJob, *, own_jpeg: bool = False, encode: bool = True) -> None:
        self.job = job
        self.own_jpeg = own_jpeg
        """The source's JPEGs are the camera's own (MJPEG, snapshots): ``auto`` keeps them."""
        self.encode_pictures = encode or job.codec == "h264"
        """Whether pictures may become H.264 here (``False`` for ``auto`` at a hub that
        pulls its cameras: no network to save, so pictures stay pictures)."""
        self._decoder: PictureDecoder | None = None
        self._encoder: H264Encoder | None = None
        self._last_seq: int | None = None
        self._live = False
        """Packets pass through: the hub took a keyframe of this camera's video."""
        self.mode: str = job.encoding
        """What the last frame went out as (for the status line)."""
        self.decoded = 0
        """Packets decoded because the hub did not take them (yet)."""

    def offer(self) -> tuple[Codec, ...]:
        """The video codecs to offer the hub (none for ``--codec jpeg`` or ``--raw``)."""
        if self.job.encoding == "raw" or self.job.codec == "jpeg":
            return ()
        return ("h264",) if self.job.codec == "h264" else CODECS

    def keyframe_needed(self, _camera: str = "") -> None:
        """The hub lost part of a group: the next picture encoded here is a keyframe."""
        if self._encoder is not None:
            self._encoder.request_keyframe()

    def encode(self, frame: Frame, accepts: Accepts, *, more: bool = False) -> Frame | None:
        """The frame to send for ``frame``, or ``None`` (nothing to send for it: a packet
        decoded only to keep the decoder going, or one skipped until a keyframe).
        ``more``: newer frames are already waiting."""
        video = frame.video
        if video is not None:
            gap = frame.seq is not None and self._last_seq is not None
            gap = gap and frame.seq != (self._last_seq or 0) + 1
            self._last_seq = frame.seq
            taken = self.job.encoding != "raw" and accepts(video.codec)
            if taken and (self._live or video.keyframe):
                if not self._live:
                    self._live = True
                    self._set_mode(video.codec)
                return self._pass(frame)
            if self._live:  # the hub stopped taking it (a reconnect): pictures again
                self._live = False
                gap = True
            return self._from_packet(frame, accepts, gap=gap, more=more, waiting=taken)
        return self._from_picture(frame, accepts)

    def _from_packet(
        self, frame: Frame, accepts: Accepts, *, gap: bool, more: bool, waiting: bool
    ) -> Frame | None:
        """Decode a packet the hub does not take (yet); send its picture if it is the
        newest. ``waiting``: the hub takes the codec, the camera's next keyframe starts
        the video, JPEG until then."""
        from camhub.video.pictures import PictureDecoder

        assert frame.video is not None
        if self._decoder is None:
            self._decoder = PictureDecoder()
        picture = self._decoder.decode(frame.video, gap=gap)
        self.decoded += 1
        if picture is None or more:
            return None
        out = Frame(name=frame.name, array=picture, captured_at=frame.captured_at)
        if waiting:
            self._set_mode("jpeg")
            return prepare(out, self.job)
        return self._from_picture(out, accepts, decoded=True)

    def _pass(self, frame: Frame) -> Frame:
        """The camera's own packet, untouched."""
        out = Frame(name=self.job.name, video=frame.video, width=frame.width, height=frame.height)
        out.captured_at = frame.captured_at
        return out

    def _from_picture(self, frame: Frame, accepts: Accepts, *, decoded: bool = False) -> Frame:
        job = self.job
        if job.encoding == "raw" or job.codec == "jpeg" or not self.encode_pictures:
            self._set_mode(job.encoding)
            return prepare(frame, job)
        if not accepts("h264"):
            self._set_mode(job.encoding)
            return prepare(frame, job)
        if job.codec == "auto" and frame.jpeg is not None and self.own_jpeg and not decoded:
            self._set_mode("jpeg")
            return prepare(frame, job)
        try:
            return self._h264(frame)
        except VideoError as exc:  # a picture libx264 cannot take: send it as JPEG
            log.warning("camera %s: %s; sending JPEG", job.name, exc)
            self._set_mode("jpeg")
            return prepare(frame, job)

    def _set_mode(self, mode: Encoding) -> None:
        if mode != self.mode:
            log.info("camera %s: sending %s", self.job.name, mode)
        self.mode = mode

    def _h264(self, frame: Frame) -> Frame:
        from camhub.video.encoder import H264Encoder

        if self._encoder is None:
            self._encoder = H264Encoder()
        elif self.mode != "h264":
            self._encoder.request_keyframe()  # the hub got pictures in between
        self._set_mode("h264")
        image = _resized(frame.image, self.job.width)
        captured = frame.captured_at if frame.captured_at is not None else frame.received_at
        packet = self._encoder.encode(image, captured)
        out = Frame(name=self.job.name, video=packet, captured_at=frame.captured_at)
        out.width, out.height = image.shape[1] & ~1, image.shape[0] & ~1
        return out


def _resized(image: Image, width: int | None) -> Image:
    """``image`` shrunk to ``width`` (even height, aspect kept) if it is wider."""
    if width is None or image.ndim < 2 or image.shape[1] <= width:
        return image
    import cv2

    h, w = image.shape[:2]
    new_h = max(2, round(h * width / w / 2) * 2)
    small: Image = cv2.resize(
        image.astype(np.uint8, copy=False), (width, new_h), interpolation=cv2.INTER_AREA
    )
    return small


def prepare(frame: Frame, job: CameraJob) -> Frame:
    """A picture as it should go on the wire as JPEG or raw for ``job``: JPEG bytes pass
    through unless a resize or re-encode is asked for; arrays are JPEG-encoded unless
    ``raw``."""
    width = frame.width
    resize = job.width is not None and width is not None and width > job.width
    if not resize and not job.reencode and job.encoding == "jpeg" and frame.jpeg is not None:
        out = Frame(name=job.name, jpeg=frame.jpeg, width=frame.width, height=frame.height)
    else:
        image = _resized(frame.image, job.width)
        if job.encoding == "jpeg":
            jpeg = encode_jpeg(image, quality=job.quality)
            out = Frame(name=job.name, jpeg=jpeg, width=image.shape[1], height=image.shape[0])
        else:
            out = Frame(name=job.name, array=image)
    out.captured_at = frame.captured_at
    return out
