"""The part every camera source shares: a reader thread started on first use that keeps
only the newest frame, reconnects with exponential backoff, and reports its status.

The reader hands frames over through a :class:`~camhub.video.gop.GopQueue`: for pictures
(JPEG, arrays) the newest wins; video packets queue in order, a group at a time (dropping
P-frames one by one would break the stream).

A concrete source implements :meth:`ThreadedSource._stream`: open the camera (with a
timeout), then call ``self._emit(...)`` for every frame until the stream drops (raise
any exception) or ends (return). Everything else - the thread, the latest-frame slot,
retries, the log lines a person reads, fps and status - lives here.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass

from camhub.clock import SYSTEM_CLOCK, Clock
from camhub.types import ArgumentError, Frame, Image, SourceEnded, SourceError, SourceStatus
from camhub.video.gop import GopQueue
from camhub.video.packet import VideoPacket

log = logging.getLogger("camhub.sources")

QUIET_RETRY_LOG_S = 30.0
"""While a camera stays offline, repeat the warning at most this often."""


class SourceTimeout(SourceError, TimeoutError):
    """No new frame arrived within the caller's timeout (the text says why, if known)."""


class FatalSourceError(SourceError):
    """Retrying cannot help (missing file, missing library): the source gives up."""


@dataclass(frozen=True, slots=True)
class SourceTimeouts:
    """Seconds to wait for a camera to answer (``open``), for each frame (``read``), and
    the longest pause between reconnect attempts (``retry_max``)."""

    open: float = 5.0
    read: float = 5.0
    retry_min: float = 0.25
    retry_max: float = 1.0

    def __post_init__(self) -> None:
        for key in ("open", "read", "retry_min", "retry_max"):
            if not 0 < getattr(self, key) <= 3600:
                raise ArgumentError(f"timeout {key!r} must be in (0, 3600] seconds")
        if self.retry_min > self.retry_max:
            raise ArgumentError("retry_min must not exceed retry_max")


def _clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))


def _describe(exc: BaseException, secrets: dict[str, str]) -> str:
    """A one-line reason a person can act on, with secrets masked."""
    if isinstance(exc, ConnectionRefusedError):
        text = "connection refused (is the camera app running, and is the port right?)"
    elif isinstance(exc, socket.gaierror):
        text = f"cannot resolve the host name ({exc.strerror})"
    elif isinstance(exc, TimeoutError) and str(exc) in ("", "timed out"):
        text = "timed out (camera unreachable or not answering)"
    elif isinstance(exc, ConnectionResetError):
        text = "connection reset by the camera"
    else:
        # OSError's "[Errno N] " prefix means nothing to a person (FFmpeg's are huge).
        text = re.sub(r"^\[Errno -?\d+\] ", "", str(exc).strip()) or type(exc).__name__
    for secret, shown in secrets.items():
        text = text.replace(secret, shown)
    return text if len(text) <= 300 else text[:297] + "..."


class ThreadedSource:
    """Base class implementing :class:`camhub.types.FrameSource` around ``_stream``."""

    kind = "source"
    reconnects_after_end = True
    """Network cameras that close the stream are retried; finite files are not."""
    own_jpeg = False
    """The JPEGs this source hands on are the camera's own coding (MJPEG, snapshots), so
    ``--codec auto`` passes them through instead of encoding H.264."""

    def __init__(
        self,
        display: str,
        name: str,
        timeouts: SourceTimeouts | None = None,
        secrets: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.display = display
        self._secrets = {k: v for k, v in (secrets or {}).items() if k}
        """Text that must never reach a log (a URL with a password) -> what to show."""
        self.timeouts = timeouts or SourceTimeouts()
        self._slot = GopQueue()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._seq = 0
        self._connected = False
        self._ended = False
        self._fatal: str | None = None
        self._reconnects = 0
        self._last_error: str | None = None
        self._last_frame_at: float | None = None
        self._frame_times: deque[float] = deque(maxlen=64)
        self._offline_since: float | None = None
        self.clock: Clock = SYSTEM_CLOCK
        """What frame pacing and the pause between reconnect attempts read and sleep on;
        a test swaps in a manual clock before the first read."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.display}>"

    # -- FrameSource -------------------------------------------------------------------

    def start(self) -> ThreadedSource:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"camhub-source-{self.name}", daemon=True
                )
                self._thread.start()
        return self

    def read(self, timeout: float | None = None) -> Frame:
        """The newest picture not returned before, or the next video packet in order (see
        the module docstring); starts the reader on first use."""
        self.start()
        try:
            return self._slot.get(timeout)
        except EOFError:
            if self._fatal is not None:
                raise SourceError(f"camera {self.name}: {self._fatal}") from None
            if not self._ended:
                raise SourceError(f"camera {self.name}: source stopped") from None
            raise SourceEnded(f"camera {self.name}: {self.display} has no more frames") from None
        except TimeoutError:
            why = f" ({self._last_error})" if self._last_error and not self._connected else ""
            raise SourceTimeout(
                f"camera {self.name}: no new frame within {timeout:g} s{why}"
            ) from None

    def status(self) -> SourceStatus:
        with self._lock:
            times = list(self._frame_times)
            connected = self._connected
            last_frame_at = self._last_frame_at
        fps = 0.0
        if len(times) >= 2 and time.monotonic() - times[-1] < 2.0:
            window = [t for t in times if times[-1] - t <= 2.0]
            if len(window) >= 2 and window[-1] > window[0]:
                fps = (len(window) - 1) / (window[-1] - window[0])
        return SourceStatus(
            uri=self.display,
            connected=connected,
            fps=round(fps, 2),
            frames=self._seq,
            last_frame_at=last_frame_at,
            reconnects=self._reconnects,
            last_error=self._fatal or self._last_error,
        )

    def stop(self) -> None:
        self._stop.set()
        self._interrupt()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self.timeouts.read + 2.0)
            if thread.is_alive():
                log.warning("camera %s: reader did not stop in time; leaving it", self.name)
        self._slot.close()

    @property
    def pending(self) -> int:
        """Frames waiting to be read."""
        return len(self._slot)

    @property
    def dropped(self) -> int:
        """Frames the camera delivered that no reader took before a newer one came."""
        return self._slot.dropped

    # -- for subclasses -----------------------------------------------------------------

    def _stream(self) -> None:
        """Open the camera and ``_emit`` frames until it drops (raise) or ends (return)."""
        raise NotImplementedError

    def _interrupt(self) -> None:
        """Unblock a read in progress so that ``stop`` is quick (close a socket...)."""

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _emit(
        self,
        *,
        jpeg: bytes | None = None,
        array: Image | None = None,
        width: int | None = None,
        height: int | None = None,
        captured_at: float | None = None,
        video: VideoPacket | None = None,
    ) -> None:
        """Hand one frame to readers: a picture (``jpeg`` or ``array``), or one access
        unit of the camera's video (``video``), which queues behind the ones before it
        instead of replacing them. ``captured_at`` defaults to now."""
        now = time.time()
        with self._lock:
            self._seq += 1
            seq = self._seq
            self._frame_times.append(time.monotonic())
            self._last_frame_at = now
            if not self._connected:
                self._mark_online(now)
        frame = Frame(
            name=self.name,
            jpeg=jpeg,
            array=array,
            seq=seq,
            captured_at=now if captured_at is None else captured_at,
            width=width,
            height=height,
            video=video,
        )
        self._slot.put(frame)

    # -- the reader thread ----------------------------------------------------------------

    def _mark_online(self, now: float) -> None:
        self._connected = True
        if self._offline_since is not None:
            log.info(
                "camera %s back online after %.0f s (%d reconnects)",
                self.name,
                now - self._offline_since,
                self._reconnects,
            )
        else:
            log.info("camera %s streaming from %s", self.name, self.display)
        self._offline_since = None
        self._last_error = None

    def _run(self) -> None:
        delay = self.timeouts.retry_min
        last_warning = 0.0
        while not self._stop.is_set():
            frames_before = self._seq
            try:
                self._stream()
                if self._stop.is_set():
                    break
                if not self.reconnects_after_end:
                    self._ended = True
                    break
                error = "stream ended"
            except FatalSourceError as exc:
                self._fatal = _describe(exc, self._secrets)
                log.error("camera %s: %s", self.name, self._fatal)
                break
            except Exception as exc:
                if self._stop.is_set():
                    break
                error = _describe(exc, self._secrets)
            now = time.time()
            with self._lock:
                was_connected = self._connected
                self._connected = False
                self._last_error = error
                if self._offline_since is None:
                    self._offline_since = now
            if self._seq > frames_before:
                delay = self.timeouts.retry_min  # it worked for a while: retry quickly
            if was_connected or now - last_warning >= QUIET_RETRY_LOG_S:
                last_warning = now
                log.warning(
                    "camera %s offline since %s, retrying in %s s (%s)",
                    self.name,
                    _clock(self._offline_since or now),
                    f"{delay:.2g}",
                    error,
                )
            else:
                log.debug("camera %s: retry failed (%s); next in %.2g s", self.name, error, delay)
            if self.clock.wait(self._stop, delay):
                break
            self._reconnects += 1
            delay = min(delay * 2, self.timeouts.retry_max)
        with self._lock:
            self._connected = False
        self._slot.close()
