"""One video camera at the hub: its current group, broken-group marking, and its decoder,
run only while someone wants pictures.

The store calls :meth:`VideoTrack.add` for every video frame, on the receive thread:
O(1), never decodes. It keeps the frames since the last keyframe (bounded, a
:class:`~camhub.video.gop.Gop`) so a decoder or a snapshot can start mid-group, and marks
frames after a lost packet ``broken`` until the next keyframe: nothing decodes them.

Pictures are made on demand: :meth:`VideoTrack.demand` (a picture reader of the store, or
``Frame.image``) starts the camera's decoder thread, which first decodes the current
group from its keyframe, then every new packet in order through a bounded
:class:`~camhub.video.gop.GopQueue` (when it falls behind, the rest of a group is
skipped and counted, never decoded from a broken reference). It stops by itself once
nobody asked for a picture for :attr:`VideoSettings.idle` seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from camhub.errors import ReceiveTimeout, SlotClosed
from camhub.types import ArgumentError, CameraName, Frame, Image, VideoError
from camhub.video.decoder import Decoder, decode_group, to_bgr
from camhub.video.gop import Gop, GopQueue

log = logging.getLogger("camhub.video")

PicturePublisher = Callable[[Frame, int], None]
"""``publish(picture, count)``: a decoded picture (a copy of its frame with ``array`` set)
and the camera's frame count when its packet arrived; called with the store's lock held."""


@dataclass(frozen=True, slots=True)
class VideoSettings:
    """How a hub keeps and decodes its video cameras."""

    max_gop_frames: int = 600
    """Most packets of a group kept for late joiners (40 s at 15 fps)."""
    max_gop_bytes: int = 32 * 1024 * 1024
    """Most bytes of a group kept for late joiners."""
    decode_queue: int = 48
    """Packets a decoder may fall behind before it skips to the next keyframe."""
    idle: float = 5.0
    """Seconds without a picture request after which a camera's decoder stops."""
    picture_wait: float = 5.0
    """Longest ``Frame.image`` waits for the decoder to reach its frame."""
    remember: int = 3
    """Decoded pictures kept per camera for ``Frame.image`` of recent frames (older ones
    are decoded again from their keyframe when asked for)."""

    def __post_init__(self) -> None:
        for key in ("max_gop_frames", "max_gop_bytes", "decode_queue", "remember"):
            if getattr(self, key) < 1:
                raise ArgumentError(f"video setting {key} must be at least 1")
        if self.idle <= 0 or self.picture_wait <= 0:
            raise ArgumentError("video idle and picture_wait must be positive")


class _Ref:
    """A video frame's link to its camera (``Frame.decoder``): its group and arrival index."""

    __slots__ = ("gop", "index", "track")

    def __init__(self, track: VideoTrack, gop: Gop, index: int) -> None:
        self.track = track
        self.gop = gop
        self.index = index

    def picture(self, frame: Frame) -> Image:
        return self.track.picture(frame, self)


class _Decoded:
    """A decoded picture kept as FFmpeg made it (``Frame.decoder`` of a published
    picture), turned into BGR only when someone reads ``Frame.image``, which caches it.

    A camera's decoder decodes every packet, since each P-frame needs the ones before it,
    but consumers look at a few of them (detection at 5 of 15 frames/s, none while nobody
    views), and the conversion to BGR costs about as much as the decode itself."""

    __slots__ = ("_image", "_lock", "_picture")

    def __init__(self, picture: Any) -> None:
        self._picture: Any = picture
        self._image: Image | None = None
        # Consumers on several threads read one picture at once, and FFmpeg's converter
        # (one per picture, run with the GIL released) must not run twice at a time:
        # it crashed the process when it did.
        self._lock = threading.Lock()

    def picture(self, frame: Frame) -> Image:
        with self._lock:
            if self._image is None:
                try:
                    self._image = to_bgr(self._picture)
                except Exception as exc:  # FFmpeg refused the conversion
                    raise VideoError(
                        f"camera {frame.name!r}: cannot convert its picture ({exc})"
                    ) from None
                self._picture = None  # FFmpeg's buffers go back at once
            return self._image


class VideoTrack:
    """See the module docstring. ``cond`` is the store's condition (its lock guards this
    track too); ``clock`` is injectable for tests of the idle stop."""

    def __init__(
        self,
        name: CameraName,
        cond: threading.Condition,
        publish: PicturePublisher,
        settings: VideoSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.settings = settings or VideoSettings()
        self._cond = cond
        self._publish = publish
        self._clock = clock
        self.gop: Gop | None = None
        self.last_intact: Frame | None = None
        """The newest frame that can be decoded (not ``broken``)."""
        self.last_index = 0
        """Arrival index of :attr:`last_intact`."""
        self.broken = 0
        self.undecoded = 0
        self.gop_cut = 0
        self._queue: GopQueue | None = None
        self._thread: threading.Thread | None = None
        self._start = 0
        """First arrival index the running decoder covers."""
        self._done = -1
        """Highest arrival index the running decoder has dealt with."""
        self._pictures: dict[int, Frame] = {}
        self._skipped: dict[int, None] = {}
        self._wanted_at = 0.0
        self._next_index = 1
        self._errors = 0

    # -- ingest (receive thread, store lock held) -----------------------------------------

    def add(self, frame: Frame, index: int) -> bool:
        """Take a video frame, the camera's ``index``-th; returns whether it can be decoded
        (else it is marked ``broken`` and counted)."""
        assert frame.video is not None
        self._next_index = index + 1
        gop = self.gop
        if not frame.video.keyframe and (gop is None or gop.broken or not gop.follows(frame)):
            if gop is not None:
                gop.broken = True
            frame.broken = True
            self.broken += 1
            return False
        # The group and the decoder get a copy of their own: a picture a consumer caches
        # on its frame (``Frame.image``) must not stay in memory until the next keyframe.
        kept = Frame(
            frame.name,
            video=frame.video,
            seq=frame.seq,
            captured_at=frame.captured_at,
            received_at=frame.received_at,
            width=frame.width,
            height=frame.height,
            meta=frame.meta,
        )
        if frame.video.keyframe:
            gop = self.gop = Gop(kept, index)
        else:
            assert gop is not None
            was_cut = gop.cut
            gop.add(kept, self.settings.max_gop_frames, self.settings.max_gop_bytes)
            if gop.cut and not was_cut:
                self.gop_cut += 1
        kept.decoder = frame.decoder = _Ref(self, gop, index)
        self.last_intact, self.last_index = frame, index
        if self._queue is not None:
            for lost in self._queue.put(kept):
                self._skip(lost)
        return True

    def interrupt(self, index: int) -> None:
        """The camera sent a frame outside its packet chain (a JPEG): the next video frame
        must start a group."""
        self._next_index = index + 1
        if self.gop is not None:
            self.gop.broken = True

    def latest(self) -> Frame | None:
        """The newest decodable frame: its decoded picture when the decoder has it."""
        frame = self.last_intact
        if frame is None:
            return None
        return self._pictures.get(self.last_index, frame)

    @property
    def decoding(self) -> bool:
        return self._thread is not None

    # -- demand ------------------------------------------------------------------------------

    def demand(self) -> None:
        """Someone wants pictures: start the decoder if it is not running, and keep it
        running for another :attr:`VideoSettings.idle` seconds."""
        with self._cond:
            self._wanted_at = self._clock()
            if self._thread is None:
                self._start_decoder()

    def _start_decoder(self) -> None:
        gop = self.gop
        seed = list(gop.frames) if gop is not None else []
        self._start = gop.start if seed and gop is not None else self._next_index
        self._done = self._start - 1
        self._pictures.clear()
        self._skipped.clear()
        queue = self._queue = GopQueue(
            self.settings.decode_queue, self.settings.max_gop_bytes, supersede=False
        )
        thread = self._thread = threading.Thread(
            target=self._run,
            args=(seed, queue),
            name=f"camhub-decode-{self.name}"[:60],
            daemon=True,
        )
        thread.start()

    def stop(self) -> None:
        """Stop the decoder now (the hub stops)."""
        with self._cond:
            thread = self._thread
            self._stop_decoder()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2)

    def _stop_decoder(self) -> None:
        if self._queue is not None:
            self._queue.close()
        self._queue = None
        self._thread = None
        self._cond.notify_all()

    # -- pictures --------------------------------------------------------------------------

    def picture(self, frame: Frame, ref: _Ref) -> Image:
        """``Frame.image`` of one of this camera's frames: from the running decoder
        (waiting for it to get there), else decoded from its group's keyframe."""
        self.demand()
        deadline = time.monotonic() + self.settings.picture_wait
        index = ref.index
        pic: Frame | None = None
        with self._cond:
            while True:
                pic = self._pictures.get(index)
                if pic is not None:
                    break  # converted outside the store's lock, which ingest needs
                if index in self._skipped:
                    raise VideoError(
                        f"camera {self.name!r}: the decoder skipped this frame (it fell a "
                        "group behind, or FFmpeg refused a packet of the group)"
                    )
                if self._thread is None or index < self._start or index <= self._done:
                    break  # the decoder never covers it, or its picture is forgotten
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise VideoError(
                        f"camera {self.name!r}: the decoder did not reach this frame within "
                        f"{self.settings.picture_wait:g} s"
                    )
                self._cond.wait(min(remaining, 0.25))
        if pic is not None:
            return pic.image
        return self._decode_alone(frame, ref)

    def _decode_alone(self, frame: Frame, ref: _Ref) -> Image:
        gop = ref.gop
        position = ref.index - gop.start
        frames = gop.frames
        if position >= len(frames) or frames[position].video is not frame.video:
            raise VideoError(
                f"camera {self.name!r}: this frame's group is no longer kept (a group is kept "
                f"up to {self.settings.max_gop_frames} packets, until the next keyframe)"
            )
        packets = [f.video for f in frames[: position + 1] if f.video is not None]
        return decode_group(packets)

    # -- the decoder thread ------------------------------------------------------------------

    def _skip(self, frame: Frame) -> None:
        """A frame the decoder will not decode (store lock held)."""
        ref = frame.decoder
        if isinstance(ref, _Ref) and ref.track is self:
            self._skipped[ref.index] = None
            if len(self._skipped) > 256:
                del self._skipped[next(iter(self._skipped))]
            self._done = max(self._done, ref.index)
        self.undecoded += 1
        self._cond.notify_all()

    def _run(self, seed: list[Frame], queue: GopQueue) -> None:
        decoder: Decoder | None = None
        pending: dict[int, Frame] = {}
        fed = iter(seed)
        while True:
            frame = next(fed, None)
            if frame is None:
                try:
                    frame = queue.get(timeout=0.25)
                except ReceiveTimeout:
                    if self._idle(queue):
                        break
                    continue
                except SlotClosed:
                    break
            decoder = self._feed(decoder, frame, pending, queue)
            if self._queue is not queue:  # stopped meanwhile
                break
            # A camera that streams never lets ``get`` time out: the idle check must
            # run between frames too, or its decoder would never stop.
            if self._idle(queue):
                break
        with self._cond:
            for frame in pending.values():
                self._skip(frame)
            if self._queue is queue:
                self._stop_decoder()

    def _idle(self, queue: GopQueue) -> bool:
        with self._cond:
            if self._queue is not queue:
                return True
            if self._clock() - self._wanted_at <= self.settings.idle:
                return False
            log.debug("camera %s: nobody wants pictures; decoder stops", self.name)
            self._stop_decoder()
            return True

    def _feed(
        self, decoder: Decoder | None, frame: Frame, pending: dict[int, Frame], queue: GopQueue
    ) -> Decoder | None:
        video = frame.video
        ref = frame.decoder
        assert video is not None and isinstance(ref, _Ref)
        if decoder is None or decoder.codec != video.codec:
            if not video.keyframe:  # cannot start mid-group (the queue starts at keyframes)
                with self._cond:
                    self._skip(frame)
                return decoder
            decoder = Decoder(video.codec)
        pending[ref.index] = frame
        try:
            out = decoder.decode(video, ref.index)
            pictures = [(index, _Decoded(picture)) for index, picture in out]
        except Exception as exc:  # FFmpeg refused it: nothing of this group decodes now
            self._errors += 1
            if self._errors == 1 or self._errors % 100 == 0:
                log.warning(
                    "camera %s: %s; skipping to the next keyframe (%d so far)",
                    self.name,
                    exc,
                    self._errors,
                )
            with self._cond:
                for lost in [*pending.values(), *queue.cut(self.name)]:
                    self._skip(lost)
            pending.clear()
            return None
        with self._cond:
            for index, array in pictures:
                source = pending.pop(index, None)
                if source is not None:
                    self._publish_picture(source, index, array)
            # What a reordering decoder has not given back 16 packets later never comes.
            for index in [i for i in pending if i < ref.index - 16]:
                self._skip(pending.pop(index))
            self._done = max(self._done, min(pending, default=ref.index + 1) - 1)
        return decoder

    def _publish_picture(self, source: Frame, index: int, decoded: _Decoded) -> None:
        picture = Frame(
            source.name,
            seq=source.seq,
            captured_at=source.captured_at,
            received_at=source.received_at,
            width=source.width,
            height=source.height,
            meta=source.meta,
            video=source.video,
            decoder=decoded,
        )
        self._pictures[index] = picture
        while len(self._pictures) > self.settings.remember:
            del self._pictures[next(iter(self._pictures))]
        self._publish(picture, index)
        self._cond.notify_all()
