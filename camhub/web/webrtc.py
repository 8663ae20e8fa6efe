"""Live video over WebRTC (aiortc): an H.264 camera's own packets sent on as RTP, with no
decode and no re-encode on the hub; the lowest-latency way to watch.

Signalling is one HTTP request: the page POSTs its offer to
``/api/cameras/{name}/webrtc`` (``{"type": "offer", "sdp": ...}``, ICE candidates
gathered) and gets the answer back (aiortc does not trickle candidates). The hub's
peer connection sends one video track, H.264 only, whose ``recv`` hands aiortc
``av.Packet`` objects: aiortc then only packetizes them (RFC 6184), its encoder never
runs.

The packets come from the same per-camera feed as the MSE path
(:class:`~camhub.web.live.CameraFeed`), through the same bounded :class:`Viewer` queue:
a peer that falls behind drops to the next keyframe, counted. A new peer starts at the
current group's keyframe at once; that group's packets go out back to back with their
timestamps squeezed to one tick apart, so the browser shows the newest picture at once
instead of replaying the group at its pace.

The hub cannot ask a camera for a keyframe, so a browser's picture-loss request waits
for the camera's next one (camhub's own encoder makes one every 2 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from fractions import Fraction
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from camhub.video.packet import TIME_BASE
from camhub.web import responses
from camhub.web.live import CameraFeed, LiveVideo, Viewer

log = logging.getLogger("camhub.web.webrtc")

MAX_OFFER_BYTES = 64 * 1024
"""An SDP offer is a few kB; anything much larger is not one."""


def _aiortc() -> Any:
    """The aiortc module, or ``None`` when it is not installed."""
    try:
        with warnings.catch_warnings():
            # pyOpenSSL (aiortc's DTLS) warns about deprecated DSA on import with newer
            # cryptography releases; nothing of camhub's uses DSA.
            warnings.simplefilter("ignore", DeprecationWarning)
            import aiortc
    except ImportError:
        return None
    return aiortc


class PacketTrack:
    """Builds the aiortc track class on first use (aiortc loads only when WebRTC is)."""

    _cls: Any = None

    @classmethod
    def create(cls, live: LiveVideo, feed: CameraFeed, viewer: Viewer) -> Any:
        if cls._cls is None:
            cls._cls = _track_class()
        return cls._cls(live, feed, viewer)


def _track_class() -> Any:
    import av
    from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

    tick = Fraction(1, TIME_BASE)

    class _Track(MediaStreamTrack):  # type: ignore[misc,unused-ignore]
        kind = "video"

        def __init__(self, live: LiveVideo, feed: CameraFeed, viewer: Viewer) -> None:
            super().__init__()
            self.live, self.feed, self.viewer = live, feed, viewer
            self.burst = viewer.burst
            self.burst_end = -1
            self.last = -1
            self.gone = False

        async def recv(self) -> Any:
            viewer = self.viewer
            while True:
                if self.readyState != "live" or self.feed.error is not None:
                    raise MediaStreamError
                piece = viewer.take()
                if piece is None:
                    viewer.event.clear()
                    await viewer.event.wait()
                    continue
                if piece.packet.codec != "h264":
                    viewer.dropped += 1
                    continue
                ts = piece.dts
                if self.burst > 0:
                    # The group this peer started with: one tick apart, ending where
                    # the live packets go on.
                    if self.burst_end < 0:
                        group = list(viewer.queue)[: self.burst - 1]
                        self.burst_end = group[-1].dts if group else ts
                    self.burst -= 1
                    ts = self.burst_end - self.burst
                ts = max(ts, self.last + 1)
                self.last = ts
                packet = av.Packet(piece.packet.data)
                packet.pts = ts
                packet.time_base = tick
                viewer.sent += 1
                viewer.sent_bytes += len(piece.packet.data)
                return packet

        def stop(self) -> None:
            super().stop()
            self.viewer.event.set()
            if not self.gone:
                self.gone = True
                self.live.leave(self.feed, self.viewer)

    return _Track


class WebRtcLive:
    """The offer/answer endpoint and the open peer connections (event loop only)."""

    def __init__(self, live: LiveVideo) -> None:
        self.live = live
        self.peers: set[Any] = set()

    @staticmethod
    def available() -> bool:
        return _aiortc() is not None

    async def offer(self, request: Request) -> Response:
        name: str = request.path_params["name"]
        aiortc = _aiortc()
        if aiortc is None:
            return responses.error("WebRTC needs aiortc (pip install aiortc)", 501)
        stats = self.live.hub.camera_stats(name)
        if stats is None:
            return responses.error(f"no camera {name!r}", 404)
        if stats.encoding != "h264":
            return responses.error(
                f"camera {name!r} sends {stats.encoding}: WebRTC passes H.264 through only",
                409,
            )
        body = await request.body()
        if len(body) > MAX_OFFER_BYTES:
            return responses.error("offer too large", 413)
        try:
            import json

            offer = json.loads(body)
            sdp, kind = offer["sdp"], offer["type"]
            if not isinstance(sdp, str) or kind != "offer":
                raise ValueError
        except (ValueError, KeyError, TypeError):
            return responses.error('expected {"type": "offer", "sdp": "..."}', 400)
        pc = aiortc.RTCPeerConnection(aiortc.RTCConfiguration(iceServers=[]))
        self.peers.add(pc)
        feed = self.live.feed(name)
        viewer = Viewer(self.live.settings)
        feed.join(viewer)
        track = PacketTrack.create(self.live, feed, viewer)

        async def closed() -> None:
            track.stop()
            self.peers.discard(pc)
            await pc.close()

        @pc.on("connectionstatechange")  # type: ignore[untyped-decorator]
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await closed()

        try:
            # The transceiver (and its codecs: H.264 only, the packets are H.264) before
            # the offer, which then takes it for its video section.
            transceiver = pc.addTransceiver(track, direction="sendonly")
            transceiver.setCodecPreferences(
                [
                    c
                    for c in aiortc.RTCRtpSender.getCapabilities("video").codecs
                    if c.mimeType.lower() in ("video/h264", "video/rtx")
                ]
            )
            await pc.setRemoteDescription(aiortc.RTCSessionDescription(sdp, "offer"))
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:  # a browser offer aiortc cannot answer
            await closed()
            return responses.error(f"cannot answer this offer: {exc}", 400)
        local = pc.localDescription
        return responses.json({"type": local.type, "sdp": local.sdp})

    async def close(self) -> None:
        for pc in list(self.peers):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pc.close(), 2)
        self.peers.clear()

    def routes(self) -> list[BaseRoute]:
        return [Route("/api/cameras/{name:path}/webrtc", self.offer, methods=["POST"])]
