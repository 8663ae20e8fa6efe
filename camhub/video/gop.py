"""Latest-frame semantics at group-of-pictures granularity.

A video packet depends on every packet before it back to its keyframe, so the rule that
keeps the rest of camhub fresh (drop an old frame, keep the newest) would break a video
stream: a P-frame whose predecessor was dropped decodes to garbage. Here the unit of
dropping is the rest of a group instead:

* :class:`GopQueue`: a bounded queue between two threads (a source and its sender, a
  sender and its network thread, the hub and a camera's decoder or recorder). A P-frame
  that does not fit is dropped with the rest of its group, until the camera's next
  keyframe; a frame that decodes on its own (a keyframe, a JPEG, a raw array) always
  gets in, the oldest frame making room (with the P-frames that depend on it). With
  ``supersede`` (latest-frame queues) such a frame also replaces everything queued
  before it for its camera. Every drop is counted.
* :class:`GopGate`: the same rule for a sender's connection: after a frame is lost (a
  timeout, a reconnect) the camera's P-frames are held back until its next keyframe.
* :class:`Gop`: the packets since a keyframe, as a hub keeps them for late joiners (a
  decoder that starts, a snapshot), bounded in packets and bytes.

Both queue and gate can ask an encoding source for a keyframe at once
(``on_keyframe_needed(camera)``), so the gap lasts a frame, not a whole group.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from camhub.types import ArgumentError, CameraName, Frame, ReceiveTimeout, SlotClosed

KeyframeRequest = Callable[[CameraName], None]
"""``on_keyframe_needed(camera)``: a group of ``camera`` was cut; an encoder should make
its next frame a keyframe. Called from the thread that noticed; must not block."""

_NONE: tuple[Frame, ...] = ()


def independent(frame: Frame) -> bool:
    """Whether a frame decodes without the frames before it (JPEG, raw, a keyframe)."""
    return frame.video is None or frame.video.keyframe


class GopQueue:
    """A bounded FIFO of frames that drops at group granularity (see the module
    docstring); ``put`` never blocks.

    ``maxsize`` and ``max_bytes`` bound what is queued (all cameras together).
    ``supersede=True`` (the default) makes it a latest-frame queue and a drop-in for
    :class:`~camhub.latest.LatestSlot`: for frames that decode on their own it keeps just
    the newest per camera. ``supersede=False`` keeps every frame it has room for, for
    consumers that want them all (a decoder, a recorder)."""

    def __init__(
        self,
        maxsize: int = 64,
        max_bytes: int = 16 * 1024 * 1024,
        *,
        supersede: bool = True,
        on_keyframe_needed: KeyframeRequest | None = None,
    ) -> None:
        if maxsize < 1 or max_bytes < 1:
            raise ArgumentError(f"a GopQueue needs room (maxsize {maxsize}, max_bytes {max_bytes})")
        self.maxsize = maxsize
        self.max_bytes = max_bytes
        self.supersede = supersede
        self.on_keyframe_needed = on_keyframe_needed
        self._cond = threading.Condition()
        self._queue: deque[Frame] = deque()
        self._bytes = 0
        self._cut: set[CameraName] = set()
        """Cameras whose group was cut: their P-frames are dropped until a keyframe."""
        self._newest: Frame | None = None
        self._closed = False
        self.put_count = 0
        self.superseded = 0
        """Frames replaced by a newer frame of their camera that decodes on its own."""
        self.gop_drops = 0
        """Frames dropped with the rest of their group (no room, or the group was cut)."""

    @property
    def dropped(self) -> int:
        """Every frame put that will never come out of :meth:`get`."""
        return self.superseded + self.gop_drops

    def put(self, frame: Frame) -> Sequence[Frame]:
        """Queue ``frame``; returns the frames this dropped (``frame`` itself, or queued
        ones), usually none."""
        cut: list[CameraName] = []
        dropped: list[Frame] = []
        with self._cond:
            self.put_count += 1
            self._newest = frame
            name = frame.name
            if independent(frame):
                self._cut.discard(name)
                if self.supersede:
                    dropped = self._remove(name)
                    self.superseded += len(dropped)
                while self._queue and self._full(frame):
                    dropped += self._evict_oldest(cut)
            elif name in self._cut or self._full(frame):
                self.gop_drops += 1
                if name not in self._cut:
                    self._cut.add(name)
                    cut.append(name)
                dropped.append(frame)
            if not dropped or dropped[-1] is not frame:
                self._queue.append(frame)
                self._bytes += frame.nbytes
                self._cond.notify()
        if cut and self.on_keyframe_needed is not None:
            for camera in cut:
                self.on_keyframe_needed(camera)
        return dropped or _NONE

    def _full(self, frame: Frame) -> bool:
        return len(self._queue) >= self.maxsize or self._bytes + frame.nbytes > self.max_bytes

    def _remove(self, name: CameraName) -> list[Frame]:
        """Take every queued frame of camera ``name`` out (caller holds the lock)."""
        if not self._queue:
            return []
        gone = [f for f in self._queue if f.name == name]
        if gone:
            self._queue = deque(f for f in self._queue if f.name != name)
            self._bytes -= sum(f.nbytes for f in gone)
        return gone

    def _evict_oldest(self, cut: list[CameraName]) -> list[Frame]:
        """Drop the oldest frame and the queued P-frames that depend on it; a camera
        left without the start of a group is cut (caller holds the lock)."""
        victim = self._queue.popleft()
        self._bytes -= victim.nbytes
        lost = [victim]
        if victim.video is not None:
            name = victim.name
            kept: deque[Frame] = deque()
            restarts = False
            for frame in self._queue:
                if restarts or frame.name != name:
                    kept.append(frame)
                elif independent(frame):
                    restarts = True
                    kept.append(frame)
                else:
                    lost.append(frame)
                    self._bytes -= frame.nbytes
            self._queue = kept
            if not restarts and name not in self._cut:
                self._cut.add(name)
                cut.append(name)
        self.gop_drops += len(lost)
        return lost

    def cut(self, name: CameraName) -> Sequence[Frame]:
        """Drop what is queued of camera ``name`` and its P-frames until its next
        keyframe (its consumer lost a frame); returns the frames dropped."""
        with self._cond:
            dropped = self._remove(name)
            self.gop_drops += len(dropped)
            self._cut.add(name)
        return dropped

    def get(self, timeout: float | None = None) -> Frame:
        """The oldest queued frame; waits up to ``timeout`` s. Raises
        :class:`~camhub.types.ReceiveTimeout` when nothing comes in time and
        :class:`~camhub.types.SlotClosed` once closed and empty."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._queue:
                if self._closed:
                    raise SlotClosed("queue closed")
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise ReceiveTimeout("no new frame within the timeout")
                self._cond.wait(0.5 if remaining is None else min(remaining, 0.5))
            frame = self._queue.popleft()
            self._bytes -= frame.nbytes
            return frame

    def peek(self) -> Frame | None:
        """The newest frame put, taken or not (``None`` before the first ``put``)."""
        with self._cond:
            return self._newest

    def __len__(self) -> int:
        with self._cond:
            return len(self._queue)

    @property
    def nbytes(self) -> int:
        with self._cond:
            return self._bytes

    def close(self) -> None:
        """Wake every waiter; later ``get`` calls raise once the queue is empty."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class GopGate:
    """A sender's view of what its receiver can decode, per camera: a video frame goes
    out only if the receiver has everything it depends on. Not thread-safe (a sender is
    used from one thread)."""

    def __init__(self, on_keyframe_needed: KeyframeRequest | None = None) -> None:
        self.on_keyframe_needed = on_keyframe_needed
        self._intact: set[CameraName] = set()
        """Cameras whose receiver has an unbroken run of packets since a keyframe."""
        self._asked: set[CameraName] = set()
        """Cameras for which a keyframe was asked since their group broke."""
        self.held = 0
        """P-frames held back because the receiver lacks what they depend on."""

    def admit(self, frame: Frame) -> bool:
        """Whether ``frame`` may go out now (it is then assumed delivered until
        :meth:`lose` or :meth:`reset` say otherwise)."""
        name = frame.name
        video = frame.video
        if video is None:
            self.unsent(frame)
            return True
        if video.keyframe:
            self._intact.add(name)
            self._asked.discard(name)
            return True
        if name in self._intact:
            return True
        self.held += 1
        self._ask(name)
        return False

    def unsent(self, frame: Frame) -> None:
        """A frame of the camera that does not reach the receiver as a packet (a JPEG
        sent instead, a codec it does not take): the next packet must start a group, and
        a keyframe asked for earlier may have gone this way, so ask again when needed."""
        self._intact.discard(frame.name)
        self._asked.discard(frame.name)

    def lose(self, name: CameraName) -> None:
        """A frame of ``name`` did not reach the receiver: its group is broken."""
        if name in self._intact:
            self._intact.discard(name)
            self._ask(name)

    def reset(self) -> None:
        """A new connection: the receiver has nothing, every camera starts at a keyframe."""
        cameras, self._intact = self._intact, set()
        self._asked.clear()
        for name in sorted(cameras):
            self._ask(name)

    def intact(self, name: CameraName) -> bool:
        return name in self._intact

    def _ask(self, name: CameraName) -> None:
        if name in self._asked:
            return
        self._asked.add(name)
        if self.on_keyframe_needed is not None:
            self.on_keyframe_needed(name)


class Gop:
    """The frames of one group since its keyframe, as a hub keeps them for late joiners:
    at most ``max_frames`` packets and ``max_bytes`` bytes; past that the group is
    ``cut`` (its later frames still count, but nobody can start in it)."""

    __slots__ = ("broken", "cut", "frames", "last_seq", "nbytes", "start")

    def __init__(self, keyframe: Frame, start: int) -> None:
        self.start = start
        """Arrival index (the camera's frame count) of the keyframe."""
        self.frames: list[Frame] = [keyframe]
        self.nbytes = keyframe.nbytes
        self.cut = False
        self.broken = False
        """A packet of this group was lost: nothing after it decodes."""
        self.last_seq = keyframe.seq

    def add(self, frame: Frame, max_frames: int, max_bytes: int) -> bool:
        """Keep ``frame`` if the bounds allow; ``False`` once the group is cut."""
        self.last_seq = frame.seq
        if not self.cut and (
            len(self.frames) >= max_frames or self.nbytes + frame.nbytes > max_bytes
        ):
            self.cut = True
            self.frames = []  # nobody can start here any more: free the packets
            self.nbytes = 0
        if self.cut:
            return False
        self.frames.append(frame)
        self.nbytes += frame.nbytes
        return True

    def follows(self, frame: Frame) -> bool:
        """Whether ``frame`` comes right after the group's last frame (no seq gap; a
        sender that does not number its frames is taken at its word)."""
        return frame.seq is None or self.last_seq is None or frame.seq == self.last_seq + 1
