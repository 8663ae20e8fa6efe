"""Clips: recorded JPEG segments transcoded to H.264 MP4 (plays in browsers and phones).

Only on request, and never on the ingest path. :func:`write_mp4` makes a clip;
:class:`ClipExporter` decides when, through an :class:`~camhub.record.export_queue.
ExportQueue`: one worker thread, a bounded queue (429 beyond it), one job for requests
of the same range (ranges are widened to whole seconds, so a millisecond shift asks for
the same clip), and a job dropped or stopped when every requester has hung up. Finished
clips of a settled range are cached in ``clips/`` (the newest few are kept) so a replay
costs nothing.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import threading
import time
import uuid
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from camhub.datadir import open_private, private_dir
from camhub.jpeg import decode_jpeg
from camhub.record.export_queue import ExportQueue, JobCancelled, QueueFull, Ticket
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


class ClipBusy(ClipError):
    """Too many clips are waiting to be made; ask again in ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, 429)
        self.retry_after = retry_after


def _even(n: int) -> int:
    return max(2, n - n % 2)


def write_mp4(frames: Any, path: Path, *, crf: int = 23) -> int:
    """Encode ``(time, jpeg)`` pairs as H.264 in MP4 with their real timing; returns the
    number of frames. The first frame's size is the clip's (later sizes are scaled)."""
    import av  # PyAV is heavy: only a clip request pays for it

    tmp = path.with_name(path.name + ".part")
    tmp.unlink(missing_ok=True)  # left by a crash
    open_private(tmp).close()  # 0600 whatever the umask; libav keeps the mode
    count = 0
    try:
        container = av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"})
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
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
    except BaseException:
        container.close()
        tmp.unlink(missing_ok=True)  # cancelled or failed: no half clip stays behind
        raise
    container.close()
    if count == 0:
        tmp.unlink(missing_ok=True)
    else:
        os.replace(tmp, path)
    return count


@dataclass(frozen=True, slots=True)
class ClipStats:
    exported: int
    failed: int
    waiting: int
    """Exports queued behind the running one."""
    shared: int
    """Requests that joined an export already waiting or running."""
    refused: int
    """Requests answered 429: the queue was full."""
    cancelled: int
    """Exports dropped or stopped because every requester hung up."""


def clip_range(start: float, end: float) -> tuple[float, float]:
    """The range widened to whole seconds: near-identical requests share one clip."""
    return float(math.floor(start)), float(math.ceil(end))


class ClipExporter:
    """``export(camera, start, end)`` returns a :class:`Ticket` for the MP4's path;
    release it when the requester no longer waits."""

    SETTLED_AFTER_S = 2.0
    """A range ending longer ago than this is recorded for good, and its clip cached."""

    def __init__(
        self, index: SegmentIndex, out_dir: Path, *, keep: int = 16, max_pending: int = 8
    ) -> None:
        self.index = index
        self.out_dir = out_dir
        self.keep = keep
        self.queue: ExportQueue[Path] = ExportQueue("clip", max_pending)
        self.exported = 0
        self.failed = 0

    def export(self, camera: CameraName, start: float, end: float) -> Ticket[Path]:
        """Raises :class:`ClipError` (400 bad range, 409 nothing recorded, 429 busy)."""
        if not end > start:
            raise ClipError(f"the clip's end ({end}) must be after its start ({start})", 400)
        start, end = clip_range(start, end)
        if end - start > MAX_CLIP_SECONDS:
            raise ClipError(f"clips are at most {MAX_CLIP_SECONDS:g} s long", 400)
        if not any(s.frames or not s.closed for s in self.index.find(camera, start, end)):
            raise ClipError(f"no recording of camera {camera!r} between {start:.0f} and {end:.0f}")
        cached = self._path(camera, start, end)
        if cached is not None and cached.exists():
            return Ticket.ready(cached)
        try:
            return self.queue.submit(
                (camera, start, end),
                lambda cancelled: self._export(camera, start, end, cancelled),
            )
        except QueueFull as exc:
            raise ClipBusy(str(exc), exc.retry_after) from None
        except JobCancelled as exc:
            raise ClipError(str(exc), 503) from None

    def _path(self, camera: CameraName, start: float, end: float) -> Path | None:
        """Where the clip of a settled range is cached; None while it is being recorded."""
        if end >= time.time() - self.SETTLED_AFTER_S:
            return None
        key = f"{camera}\0{start:.0f}\0{end:.0f}"
        return self.out_dir / f"{hashlib.sha1(key.encode()).hexdigest()[:20]}.mp4"

    def _export(
        self, camera: CameraName, start: float, end: float, cancelled: threading.Event
    ) -> Path:
        path = self._path(camera, start, end)
        if path is None:  # still being recorded: a fresh file every time
            path = self.out_dir / f"live-{uuid.uuid4().hex[:20]}.mp4"
        elif path.exists():
            return path
        private_dir(self.out_dir)
        segments = self.index.find(camera, start, end)

        def frames() -> Any:
            for seg in segments:
                try:
                    for frame in read_segment(seg.path, start, end):
                        if cancelled.is_set():
                            raise JobCancelled("nobody waits for this clip any more")
                        yield frame
                except SegmentError as exc:  # a lost or damaged segment: skip it
                    log.warning("clip of %s skips a segment: %s", camera, exc)

        import av

        try:
            count = write_mp4(frames(), path)
        except JobCancelled:
            log.info("clip of %s from %.0f to %.0f cancelled: its requesters left",
                     camera, start, end)  # fmt: skip
            raise
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

    def stats(self) -> ClipStats:
        q = self.queue
        return ClipStats(self.exported, self.failed, q.pending, q.shared, q.refused, q.cancelled)

    def close(self) -> None:
        self.queue.close()
