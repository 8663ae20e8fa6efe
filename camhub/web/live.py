"""Live video to the browser as the camera sent it: fragmented MP4 over a WebSocket for
Media Source Extensions (MSE). The hub neither decodes nor encodes anything for it.

Per watched camera, one :class:`CameraFeed` thread takes the camera's packets from a
bounded store subscription (a :class:`~camhub.video.gop.GopQueue`: when the feed falls
behind, it skips to the next keyframe and counts it), makes each packet a one-sample fMP4
fragment at once (:meth:`~camhub.video.fragmenter.Fragmenter.add_now`, so no frame waits
for the next), and hands it to the event loop, where every viewer of the camera gets the
same bytes. The feed keeps the fragments since the current group's keyframe, so a new
viewer starts at once: the init segment, the group (the page jumps to its live edge),
then live fragments. When the feed starts, that group comes from the hub's own copy
(:meth:`~camhub.types.HubView.watch_video`).

Each viewer has a bounded queue on the event loop (:class:`Viewer`). When its WebSocket
does not drain fast enough, what is queued is dropped and the viewer resumes at the next
keyframe (counted in ``dropped``); ingest and the other viewers never wait for it.

The WebSocket ``/api/cameras/{name}/live``: text messages are JSON, binary ones fMP4.

* ``{"type": "init", "codec": "h264", "mime": "video/mp4; codecs=\\"avc1.64001f\\"",
  "width": W, "height": H}`` and then one binary message, the init segment (again
  whenever the stream's parameters change);
* binary messages of one ``moof`` + ``mdat`` each; the first after an init is a keyframe;
* ``{"type": "error", "error": "..."}`` and a close, for a camera that is not video (the
  page then shows its JPEG stream).

A feed stops when its last viewer leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass

from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from camhub.types import CameraName, Frame, HubView
from camhub.video.codecconfig import TrackConfig, track_config, track_key
from camhub.video.fmp4 import init_segment
from camhub.video.fragmenter import Fragmenter
from camhub.video.packet import BitstreamError, VideoPacket

log = logging.getLogger("camhub.web.live")

VIDEO_ENCODINGS = frozenset(("h264", "hevc", "vp8", "vp9"))


@dataclass(frozen=True, slots=True)
class LiveSettings:
    """Bounds of the live video path."""

    feed_queue: int = 64
    """Packets a camera's feed thread may fall behind ingest before it skips to the next
    keyframe."""
    loop_backlog: int = 64
    """Fragments handed to the event loop and not yet delivered, per camera, before the
    feed skips to the next keyframe (the loop is stuck)."""
    viewer_frames: int = 45
    """Fragments one viewer may have waiting before it drops them and resumes at the next
    keyframe (about 3 s at 15 fps): the page is not taking the stream fast enough."""
    viewer_bytes: int = 8 * 1024 * 1024
    """Bytes one viewer may have waiting, likewise."""
    group_frames: int = 600
    """Most fragments of the current group kept for new viewers (past that, a new viewer
    starts at the next keyframe)."""
    group_bytes: int = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Piece:
    """One fMP4 fragment of a camera, shared by all its viewers."""

    data: bytes
    key: bool
    """Starts with a keyframe: a viewer can begin here."""
    track: TrackConfig
    init: bytes
    """The init segment this fragment needs (one object per track, shared)."""
    at: float
    """When the packet reached the hub."""
    packet: VideoPacket
    """The camera's packet itself (WebRTC sends it on as RTP)."""
    dts: int
    """Its decode time on the feed's media clock (90 kHz ticks from the feed's start)."""


class Viewer:
    """One WebSocket's bounded queue of fragments (event loop only)."""

    def __init__(self, settings: LiveSettings) -> None:
        self.settings = settings
        self.queue: deque[Piece] = deque()
        self.nbytes = 0
        self.event = asyncio.Event()
        self.wait_key = True
        self.dropped = 0
        """Fragments this viewer never got: it fell behind and skipped to a keyframe."""
        self.sent = 0
        self.sent_bytes = 0
        self.track: TrackConfig | None = None
        """The track of the last init segment sent."""
        self.burst = 0
        """Fragments of the group this viewer started with (sent at once on joining)."""

    def start(self, group: list[Piece]) -> None:
        """The current group, from its keyframe: sent whole, whatever the bounds."""
        self.burst = len(group)
        if group:
            self.queue.extend(group)
            self.nbytes += sum(len(p.data) for p in group)
            self.wait_key = False
            self.event.set()

    def offer(self, piece: Piece) -> None:
        if self.wait_key:
            if not piece.key:
                self.dropped += 1
                return
            self.wait_key = False
        size = len(piece.data)
        if (
            len(self.queue) >= self.settings.viewer_frames
            or self.nbytes + size > self.settings.viewer_bytes
        ):
            # Behind: what waits is stale; the next picture that can be shown alone is
            # a keyframe (this one, or the next).
            self.dropped += len(self.queue)
            self.queue.clear()
            self.nbytes = 0
            if not piece.key:
                self.dropped += 1
                self.wait_key = True
                return
        self.queue.append(piece)
        self.nbytes += size
        self.event.set()

    def take(self) -> Piece | None:
        if not self.queue:
            return None
        piece = self.queue.popleft()
        self.nbytes -= len(piece.data)
        return piece


class CameraFeed:
    """One camera's fragments, made once for all its viewers (see the module docstring)."""

    def __init__(
        self,
        hub: HubView,
        name: CameraName,
        loop: asyncio.AbstractEventLoop,
        settings: LiveSettings,
    ) -> None:
        self.hub = hub
        self.name = name
        self.loop = loop
        self.settings = settings
        self.viewers: set[Viewer] = set()
        self.group: list[Piece] = []
        self._group_bytes = 0
        self._group_cut = True
        self.made = 0
        """Fragments made."""
        self.skipped = 0
        """Packets the feed itself skipped (it or the loop fell behind, or the stream
        broke), up to the next keyframe."""
        self.error: str | None = None
        self._backlog = 0  # fragments handed to the loop, not delivered yet (feed thread + loop)
        self._backlog_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"camhub-live-{name}"[:60], daemon=True
        )

    def start(self) -> CameraFeed:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    # -- event loop side -------------------------------------------------------------------

    def join(self, viewer: Viewer) -> None:
        self.viewers.add(viewer)
        if not self._group_cut:
            viewer.start(list(self.group))

    def leave(self, viewer: Viewer) -> None:
        self.viewers.discard(viewer)

    def _deliver(self, piece: Piece) -> None:
        with self._backlog_lock:
            self._backlog -= 1
        if piece.key:
            self.group, self._group_bytes, self._group_cut = [], 0, False
        if not self._group_cut:
            if (
                len(self.group) >= self.settings.group_frames
                or self._group_bytes + len(piece.data) > self.settings.group_bytes
            ):
                self.group, self._group_bytes, self._group_cut = [], 0, True
            else:
                self.group.append(piece)
                self._group_bytes += len(piece.data)
        for viewer in self.viewers:
            viewer.offer(piece)

    def _deliver_group(self, pieces: list[Piece]) -> None:
        with self._backlog_lock:
            self._backlog -= 1
        size = sum(len(p.data) for p in pieces)
        fits = len(pieces) <= self.settings.group_frames and size <= self.settings.group_bytes
        self.group, self._group_bytes, self._group_cut = (
            (list(pieces), size, False) if fits else ([], 0, True)
        )
        for viewer in self.viewers:
            if viewer.wait_key and not viewer.queue:
                viewer.start(pieces)
            else:
                for piece in pieces:
                    viewer.offer(piece)

    def _fail(self, message: str) -> None:
        self.error = message
        for viewer in self.viewers:
            viewer.event.set()

    # -- feed thread -----------------------------------------------------------------------

    def _run(self) -> None:
        sub, group = self.hub.watch_video(self.name, self.settings.feed_queue, f"live {self.name}")
        maker = _Maker(self)
        try:
            seen = {id(f.video) for f in group}
            # The group the hub kept goes over in one piece: the first viewers start
            # with all of it, whatever its length (their bounds are for what follows).
            pieces = [p for p in map(maker.make, group) if p is not None]
            if pieces:
                self.made += len(pieces)
                with self._backlog_lock:
                    self._backlog += 1
                self.loop.call_soon_threadsafe(self._deliver_group, pieces)
            lost = sub.dropped
            while not self._stop.is_set():
                asked = time.monotonic()
                got = sub.get(0.25)
                if got is None:
                    if time.monotonic() - asked < 0.2:  # closed (the hub stops): no spin
                        self._stop.wait(0.25)
                    continue
                frame = got
                if seen:
                    if id(frame.video) in seen:
                        continue  # taken with the group already
                    seen = set()
                if sub.dropped != lost:  # this thread fell behind: the queue cut a group
                    self.skipped += sub.dropped - lost
                    lost = sub.dropped
                    maker.gap()
                if frame.video is None:  # the camera turned to JPEG: the page shows that
                    self.loop.call_soon_threadsafe(
                        self._fail, f"camera {self.name!r} now sends {frame.encoding}"
                    )
                    break
                maker.take(frame)
        except Exception as exc:  # a feed must never take the dashboard down
            log.exception("live feed of camera %s failed", self.name)
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self._fail, f"live feed failed: {exc}")
        finally:
            sub.close()

    def hand_over(self, piece: Piece) -> bool:
        """Pass a fragment to the loop; False when the loop is that far behind."""
        with self._backlog_lock:
            if self._backlog >= self.settings.loop_backlog:
                return False
            self._backlog += 1
        try:
            self.loop.call_soon_threadsafe(self._deliver, piece)
        except RuntimeError:  # the loop closed (shutdown)
            self._stop.set()
        return True


class _Maker:
    """Packets to fragments, on the feed thread: init segments on a change of the
    stream's parameters, one fragment per packet, a keyframe after every gap."""

    def __init__(self, feed: CameraFeed) -> None:
        self.feed = feed
        self.track: TrackConfig | None = None
        self.init = b""
        self._key = b""
        self._frag: Fragmenter | None = None
        self._wait_key = True
        self._warned = False

    def gap(self) -> None:
        self._wait_key = True
        if self._frag is not None:
            self._frag.gap()

    def take(self, frame: Frame) -> None:
        """Make the frame's fragment and hand it to the loop."""
        piece = self.make(frame)
        if piece is None:
            return
        if self.feed.hand_over(piece):
            self.feed.made += 1
        else:
            self.feed.skipped += 1
            self.gap()

    def make(self, frame: Frame) -> Piece | None:
        """The frame's fragment, or ``None`` when it cannot start or continue one."""
        video = frame.video
        assert video is not None
        if frame.broken or (self._wait_key and not video.keyframe):
            self.feed.skipped += 1
            self.gap()
            return None
        if video.keyframe:
            key = track_key(video.codec, video.data)
            if key != self._key:
                try:
                    track = track_config(video.codec, video.data)
                except BitstreamError as exc:
                    if not self._warned:
                        log.warning("camera %s: cannot stream live: %s", self.feed.name, exc)
                        self._warned = True
                    self.feed.skipped += 1
                    self.gap()
                    return None
                self.track, self.init, self._key = track, init_segment(track), key
            self._wait_key = False
        assert self.track is not None
        if self._frag is None:
            self._frag = Fragmenter(frame.received_at)
        data = b"".join(self._frag.add_now(frame.received_at, video))
        return Piece(
            data,
            video.keyframe,
            self.track,
            self.init,
            frame.received_at,
            video,
            self._frag.last_dts,
        )


@dataclass(frozen=True, slots=True)
class LiveStats:
    """What the live video path does, for ``/api`` and tests."""

    feeds: int
    viewers: int
    fragments_made: int
    fragments_sent: int
    bytes_sent: int
    viewer_drops: int
    feed_skips: int

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in self.__slots__}


class LiveVideo:
    """The feeds of the watched cameras and the WebSocket endpoint (event loop only)."""

    def __init__(self, hub: HubView, settings: LiveSettings | None = None) -> None:
        self.hub = hub
        self.settings = settings or LiveSettings()
        self.feeds: dict[CameraName, CameraFeed] = {}
        self._closed = False
        self._sent = 0
        self._sent_bytes = 0
        self._drops = 0
        self._made = 0
        self._skips = 0

    def stats(self) -> LiveStats:
        feeds = list(self.feeds.values())
        viewers = [v for f in feeds for v in f.viewers]
        return LiveStats(
            feeds=len(feeds),
            viewers=len(viewers),
            fragments_made=self._made + sum(f.made for f in feeds),
            fragments_sent=self._sent + sum(v.sent for v in viewers),
            bytes_sent=self._sent_bytes + sum(v.sent_bytes for v in viewers),
            viewer_drops=self._drops + sum(v.dropped for v in viewers),
            feed_skips=self._skips + sum(f.skipped for f in feeds),
        )

    def close(self) -> None:
        """Stop every feed and end every viewer's socket (the server stops)."""
        self._closed = True
        for feed in list(self.feeds.values()):
            feed.stop()
            for viewer in feed.viewers:
                viewer.event.set()

    def feed(self, name: CameraName) -> CameraFeed:
        """The camera's feed, started for its first viewer (event loop only)."""
        feed = self.feeds.get(name)
        if feed is None:
            feed = CameraFeed(self.hub, name, asyncio.get_running_loop(), self.settings)
            self.feeds[name] = feed.start()
        return feed

    def leave(self, feed: CameraFeed, viewer: Viewer) -> None:
        """A viewer is gone; the feed stops with its last viewer (event loop only)."""
        feed.leave(viewer)
        self._sent += viewer.sent
        self._sent_bytes += viewer.sent_bytes
        self._drops += viewer.dropped
        if not feed.viewers and self.feeds.get(feed.name) is feed:
            feed.stop()
            del self.feeds[feed.name]
            self._made += feed.made
            self._skips += feed.skipped

    async def socket(self, ws: WebSocket) -> None:
        name: str = ws.path_params["name"]
        await ws.accept()
        stats = self.hub.camera_stats(name)
        if stats is None or stats.encoding not in VIDEO_ENCODINGS:
            why = "no such camera" if stats is None else f"camera sends {stats.encoding}"
            await _refuse(ws, f"{why}: no live video for {name!r}")
            return
        feed = self.feed(name)
        viewer = Viewer(self.settings)
        feed.join(viewer)
        closed = asyncio.Event()
        watcher = asyncio.create_task(_watch_close(ws, closed, viewer))
        try:
            await self._send(ws, feed, viewer, closed)
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass  # the page went away
        finally:
            watcher.cancel()
            self.leave(feed, viewer)
        if feed.error is not None and not closed.is_set():
            await _refuse(ws, feed.error)
        elif not closed.is_set():
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                await ws.close(1001)

    async def _send(
        self, ws: WebSocket, feed: CameraFeed, viewer: Viewer, closed: asyncio.Event
    ) -> None:
        while not (self._closed or closed.is_set() or feed.error is not None):
            piece = viewer.take()
            if piece is None:
                viewer.event.clear()
                await viewer.event.wait()
                continue
            if piece.track is not viewer.track:
                track = piece.track
                await ws.send_text(
                    json.dumps(
                        {
                            "type": "init",
                            "codec": track.codec,
                            "mime": track.mime,
                            "width": track.width,
                            "height": track.height,
                        }
                    )
                )
                await ws.send_bytes(piece.init)
                viewer.track = track
            # The send waits while the socket's buffer is full: meanwhile the viewer's
            # queue fills, and past its bounds it drops to the next keyframe.
            await ws.send_bytes(piece.data)
            viewer.sent += 1
            viewer.sent_bytes += len(piece.data)

    def routes(self) -> list[BaseRoute]:
        return [WebSocketRoute("/api/cameras/{name:path}/live", self.socket)]


async def _watch_close(ws: WebSocket, closed: asyncio.Event, viewer: Viewer) -> None:
    """Read (and ignore) what the page sends, to notice when it goes away."""
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    closed.set()
    viewer.event.set()


async def _refuse(ws: WebSocket, message: str) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        await ws.send_text(json.dumps({"type": "error", "error": message}))
        await ws.close(1000)
