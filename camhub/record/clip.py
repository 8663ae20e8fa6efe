"""Clips: recorded JPEG segments transcoded to H.264 MP4 (plays in browsers and phones).

Only on request, and never on the ingest path: one worker thread does every export, so
a burst of clip requests queues behind it instead of taking the hub's CPU. Finished
clips are cached in ``clips/`` (the newest few are kept) so a replay costs nothing.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from camhub.jpeg import decode_jpeg
from camhub.record.index import SegmentIndex
from camhub.record.segment import SegmentError, read_segment
from camhub.types import CameraName, CamhubError

log = logging.getLogger("camhub.record")

MAX_CLIP_SECONDS = 3600.0


class ClipError(CamhubError):
    """A clip cannot be made; ``status`` is the HTTP status that fits."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


def _even(n: int) -> int:
    return max(2, n - n % 2)


def write_mp4(frames: Any, path: Path, *, crf: int = 23) -> int:
    """Encode ``(time, jpeg)`` pairs as H.264 in MP4 with their real timing; returns the
    number of frames. The first frame's size is the clip's (later sizes are scaled)."""
    import av  # PyAV is heavy: only a clip request pays for it

    tmp = path.with_name(path.name + ".part")
    count = 0
    container = av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"})
    try:
        stream: Any = None
        t0 = 0.0
        last_pts = -1
        for at, jpeg in frames:
            try:
                pixels = decode_jpeg(jpeg)
            except Exception:
                continue  # one damaged frame does not spoil the clip
            if pixels.ndim == 2:
                pixels = np.repeat(pixels[:, :, None], 3, axis=2)
            image = np.ascontiguousarray(pixels[:, :, ::-1], dtype=np.uint8)  # BGR -> RGB
            if stream is None:
                h, w = image.shape[:2]
                stream = container.add_stream("libx264", rate=30)
                stream.width, stream.height = _even(w), _even(h)
                stream.pix_fmt = "yuv420p"
                stream.time_base = Fraction(1, 1000)
                stream.codec_context.time_base = Fraction(1, 1000)
                stream.options = {"crf": str(crf), "preset": "veryfast"}
                t0 = at
            pts = round((at - t0) * 1000)
            if pts <= last_pts:
                pts = last_pts + 1
            last_pts = pts
            vf = av.VideoFrame.from_ndarray(image, format="rgb24")
            vf = vf.reformat(width=stream.width, height=stream.height, format="yuv420p")
            vf.pts = pts
            vf.time_base = Fraction(1, 1000)
            for packet in stream.encode(vf):
                container.mux(packet)
            count += 1
        if stream is not None:
            for packet in stream.encode(None):
                container.mux(packet)
    finally:
        container.close()
    if count == 0:
        tmp.unlink(missing_ok=True)
    else:
        os.replace(tmp, path)
    return count


class ClipExporter:
    """``export(camera, start, end)`` returns a Future of the MP4's path."""

    def __init__(self, index: SegmentIndex, out_dir: Path, *, keep: int = 16) -> None:
        self.index = index
        self.out_dir = out_dir
        self.keep = keep
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="camhub-clip")
        self._lock = threading.Lock()
        self.exported = 0
        self.failed = 0

    def export(self, camera: CameraName, start: float, end: float) -> Future[Path]:
        if not end > start:
            raise ClipError(f"the clip's end ({end}) must be after its start ({start})", 400)
        if end - start > MAX_CLIP_SECONDS:
            raise ClipError(f"clips are at most {MAX_CLIP_SECONDS:g} s long", 400)
        if not any(s.frames or not s.closed for s in self.index.find(camera, start, end)):
            raise ClipError(f"no recording of camera {camera!r} between {start:.3f} and {end:.3f}")
        return self._pool.submit(self._export, camera, start, end)

    def _export(self, camera: CameraName, start: float, end: float) -> Path:
        # A range that reaches into the present is still being recorded: no cache then.
        settled = end < time.time() - 2.0
        key = f"{camera}\0{start:.3f}\0{end:.3f}" + ("" if settled else f"\0{time.time()}")
        path = self.out_dir / f"{hashlib.sha1(key.encode()).hexdigest()[:20]}.mp4"
        if path.exists():
            return path
        self.out_dir.mkdir(parents=True, exist_ok=True)
        segments = self.index.find(camera, start, end)

        def frames() -> Any:
            for seg in segments:
                try:
                    yield from read_segment(seg.path, start, end)
                except SegmentError as exc:  # a lost or damaged segment: skip it
                    log.warning("clip of %s skips a segment: %s", camera, exc)

        import av

        try:
            count = write_mp4(frames(), path)
        except (OSError, av.FFmpegError) as exc:
            self.failed += 1
            raise ClipError(f"cannot write the clip: {exc}", 500) from None
        if count == 0:
            self.failed += 1
            raise ClipError(f"the recording of camera {camera!r} in that range is unreadable")
        self.exported += 1
        self._prune()
        return path

    def _prune(self) -> None:
        clips = sorted(self.out_dir.glob("*.mp4"), key=lambda p: p.stat().st_mtime)
        for old in clips[: max(0, len(clips) - self.keep)]:
            old.unlink(missing_ok=True)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
