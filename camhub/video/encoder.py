"""H.264 encoding at the sender, for cameras that give pictures (a USB webcam, the test
pattern, the demo scenes, a Pi camera without its hardware encoder).

:class:`H264Encoder` runs FFmpeg's libx264 (PyAV) the way a live camera should: preset
``ultrafast`` and tune ``zerolatency`` (no frame is held back: a picture in, its packet
out), no B-frames, a keyframe every ``keyframe_interval`` seconds of capture time and at
once when :meth:`H264Encoder.request_keyframe` is called (a hub that lost a packet, a
new connection). Every keyframe carries its SPS and PPS. Timestamps come from the
pictures' capture times, so a sender that skips pictures (it takes the newest) keeps
true timing.

PyAV loads on first use: importing this module costs nothing.
"""

from __future__ import annotations

import threading
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

from camhub.types import ArgumentError, Image, VideoError
from camhub.video.packet import TIME_BASE, VideoPacket, parameter_sets, with_parameter_sets

KEYFRAME_INTERVAL = 2.0
"""Seconds between keyframes: how long a new viewer (or a hub after a loss) waits."""
CRF = 20
"""libx264's constant rate factor. With ``ultrafast``, FFmpeg's default (23) falls just
short of the PSNR of JPEG q85 (camhub's JPEG default) on a noisy 720p scene; 20 beats it
in every scene of ``bench/bench_video.py`` at 5.8-8.6x fewer bytes. Lower buys little
PSNR and spends the bytes on sensor noise."""


class H264Encoder:
    """One camera's H.264 encoder. ``encode`` from one thread; ``request_keyframe`` from
    any."""

    def __init__(
        self,
        *,
        keyframe_interval: float = KEYFRAME_INTERVAL,
        crf: int = CRF,
        threads: int = 0,
    ) -> None:
        if not 0 < keyframe_interval <= 3600:
            raise ArgumentError(
                f"keyframe_interval must be in (0, 3600] s, got {keyframe_interval}"
            )
        if not 0 <= crf <= 51:
            raise ArgumentError(f"crf must be 0..51, got {crf}")
        self.keyframe_interval = keyframe_interval
        self.crf = crf
        self.threads = threads
        """libx264's threads (0: FFmpeg picks; sliced, so no frame of delay)."""
        self._ctx: Any = None
        self._size: tuple[int, int] | None = None
        self._first: float | None = None
        self._last_pts = -1
        self._last_key: float | None = None
        self._key_asked = threading.Event()
        self._known_sets: list[bytes] = []
        self.frames = 0
        self.keyframes = 0
        self.keyframe_requests = 0

    def request_keyframe(self, _camera: str = "") -> None:
        """Make the next picture a keyframe (matches the sender's ``on_keyframe_needed``)."""
        self.keyframe_requests += 1
        self._key_asked.set()

    def encode(self, image: Image, captured_at: float) -> VideoPacket:
        """``image`` (BGR, or greyscale) as one H.264 access unit in Annex B form.
        :class:`VideoError` for a picture libx264 cannot take."""
        import av

        frame = _frame(image)
        size = (frame.width, frame.height)
        if self._ctx is None or size != self._size:
            self._open(size)
        if self._first is None:
            self._first = captured_at
        pts = max(round((captured_at - self._first) * TIME_BASE), self._last_pts + 1)
        self._last_pts = pts
        frame.pts = pts
        due = self._last_key is None or captured_at - self._last_key >= self.keyframe_interval
        if due or self._key_asked.is_set():
            self._key_asked.clear()
            frame.pict_type = av.video.frame.PictureType.I
        try:
            packets = self._ctx.encode(frame.reformat(format="yuv420p"))
        except av.FFmpegError as exc:
            raise VideoError(
                f"libx264 could not encode a {size[0]}x{size[1]} picture: {exc}"
            ) from None
        if len(packets) != 1:  # zerolatency gives each picture its packet at once
            raise VideoError(f"libx264 gave {len(packets)} packets for one picture")
        packet = packets[0]
        data = bytes(packet)
        keyframe = bool(packet.is_keyframe)
        if keyframe:
            self._last_key = captured_at
            self.keyframes += 1
            data = with_parameter_sets("h264", data, self._sets(data))
        self.frames += 1
        return VideoPacket("h264", data, keyframe, pts=pts)

    def _sets(self, data: bytes) -> list[bytes]:
        self._known_sets = parameter_sets("h264", data) or self._known_sets
        return self._known_sets

    def _open(self, size: tuple[int, int]) -> None:
        import av

        ctx: Any = av.CodecContext.create("libx264", "w")
        ctx.width, ctx.height = size
        ctx.pix_fmt = "yuv420p"
        ctx.time_base = Fraction(1, TIME_BASE)
        ctx.gop_size = 1 << 30  # keyframes come from the clock and from requests
        ctx.max_b_frames = 0
        ctx.thread_count = self.threads
        ctx.options = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "crf": str(self.crf),
            "forced-idr": "1",  # a requested I-frame is an IDR: decoders can start there
            "x264-params": "repeat-headers=1",
        }
        ctx.open()
        self._ctx = ctx
        self._size = size
        self._first = None
        self._last_key = None
        self._last_pts = -1

    def close(self) -> None:
        self._ctx = None


def _frame(image: Image) -> Any:
    """A PyAV frame of ``image`` with even sides (4:2:0 needs them: an odd last row or
    column is cut)."""
    import av

    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise VideoError(f"H.264 takes 8-bit pictures, not {image.dtype} of shape {image.shape}")
    height, width = image.shape[0] & ~1, image.shape[1] & ~1
    if width < 16 or height < 16:
        raise VideoError(f"a {image.shape[1]}x{image.shape[0]} picture is too small for H.264")
    if image.ndim == 2:
        fmt = "gray"
    elif image.shape[2] == 3:
        fmt = "bgr24"
    else:
        raise VideoError(f"H.264 takes BGR or greyscale pictures, not {image.shape[2]} channels")
    pixels: npt.NDArray[np.uint8] = np.ascontiguousarray(image[:height, :width], np.uint8)
    return av.VideoFrame.from_ndarray(pixels, format=fmt)
