"""Live video over the WebSocket (camhub.web.live), with a real hub, a real dashboard
(uvicorn) and the ``websockets`` client: init segment then fragments from a keyframe,
no decode and no JPEG for a video camera however many watch it, a refusal for a JPEG
camera, and a slow viewer that drops to the next keyframe, counted."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import httpx
import pytest
import websockets

import camhub
from camhub.video.codecconfig import track_config
from camhub.video.fmp4scan import moof_timing
from camhub.video.packet import TIME_BASE, VideoPacket
from camhub.web import WebServer
from camhub.web.live import LiveSettings, Piece, Viewer
from tests.conftest import wait_until
from tests.web.live_camera import VideoCamera, h264_loop

pytestmark = pytest.mark.timeout(90)


T = TypeVar("T")


def run_in_thread(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on a thread of its own: the session's Playwright driver keeps an
    event loop running on the main thread once a browser test has run in this process,
    and ``asyncio.run`` refuses to start beside it."""
    out: list[T] = []
    errors: list[BaseException] = []

    def main() -> None:
        try:
            out.append(asyncio.run(coro))
        except BaseException as exc:  # handed to the caller
            errors.append(exc)

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    thread.join(120)
    if errors:
        raise errors[0]
    assert out, "the coroutine did not finish within 120 s"
    return out[0]


def _ws(web: WebServer, name: str) -> str:
    return web.url.replace("http://", "ws://") + f"api/cameras/{name}/live"


async def _read(url: str, fragments: int) -> tuple[dict[str, Any], bytes, list[bytes]]:
    async with websockets.connect(url, open_timeout=5, close_timeout=1) as ws:
        head = json.loads(await asyncio.wait_for(ws.recv(), 5))
        init = await asyncio.wait_for(ws.recv(), 5)
        got = [await asyncio.wait_for(ws.recv(), 5) for _ in range(fragments)]
    assert isinstance(init, bytes)
    return head, init, [bytes(g) for g in got]


def test_a_viewer_gets_the_init_segment_then_fragments_from_a_keyframe(
    hub: camhub.Hub, web: WebServer, video_door: VideoCamera, packets: list[Any]
) -> None:
    wait_until(lambda: video_door.sent > 20, what="a group and more")
    head, init, frags = run_in_thread(_read(_ws(web, "door"), 20))
    track = track_config("h264", packets[0].data)
    assert head == {
        "type": "init", "codec": "h264", "mime": track.mime, "width": 320, "height": 240,
    }  # fmt: skip
    assert init[4:8] == b"ftyp" and b"avcC" in init
    timings = [moof_timing(f[: int.from_bytes(f[:4], "big")]) for f in frags]
    assert timings[0][4], "the first fragment must start with a keyframe"
    # One packet per fragment, 1/15 s apart on the stream's own clock, no gap, no repeat.
    assert all(t[3] == 1 for t in timings)
    steps = {b[1] - a[1] for a, b in itertools.pairwise(timings)}
    assert steps == {TIME_BASE // 15}
    # The viewer started in the current group, not at the next keyframe: keyframes come
    # every 15 packets, and the first one is followed by the rest of its group at once.
    keys = [i for i, t in enumerate(timings) if t[4]]
    assert keys[0] == 0 and all(k % 15 == 0 for k in keys)


def test_the_first_viewer_gets_a_long_group_whole_at_once(hub: camhub.Hub, web: WebServer) -> None:
    """A group longer than a viewer's queue bound (60 packets, bound 45): the first viewer
    still starts at its keyframe with all of it, no drop, no wait for the next keyframe."""
    cam = VideoCamera(hub, "long", h264_loop(60, (160, 120), gop=60), fps=15)
    try:
        wait_until(lambda: 48 <= cam.sent % 60 <= 54 and cam.sent > 60, timeout=15,
                   what="a camera 48-54 packets into a group")  # fmt: skip
        joined_at = cam.sent % 60
        _head, _init, frags = run_in_thread(_read(_ws(web, "long"), joined_at))
        keys = [moof_timing(f[: int.from_bytes(f[:4], "big")])[4] for f in frags]
        assert keys[0] and not any(keys[1:]), "the group from its keyframe, nothing skipped"
        assert web.app.state.live.stats().viewer_drops == 0
    finally:
        cam.stop()


def test_video_viewers_cost_the_hub_no_decode_and_no_jpeg(
    hub: camhub.Hub, web: WebServer, video_door: VideoCamera, cameras: Any
) -> None:
    cameras("yard")  # a JPEG camera on the same page's picture stream

    async def watch() -> list[int]:
        url = _ws(web, "door")
        conns = [await websockets.connect(url, open_timeout=5) for _ in range(8)]
        counts = [0] * len(conns)

        async def drain(i: int) -> None:
            end = time.monotonic() + 3
            while time.monotonic() < end:
                await asyncio.wait_for(conns[i].recv(), 5)
                counts[i] += 1

        # The grid's picture stream at the same time, leaving the video camera out.
        async with (
            httpx.AsyncClient(timeout=5) as client,
            client.stream("GET", web.url + "api/stream?objects=1&skip=door") as r,
        ):
            await asyncio.gather(*(drain(i) for i in range(len(conns))))
            assert r.status_code == 200
        for c in conns:
            await c.close()
        return counts

    counts = run_in_thread(watch())
    assert min(counts) >= 2 + 20, counts  # init message + init segment + 3 s of fragments
    stats = hub.camera_stats("door")
    assert stats is not None and not stats.decoding, "watching video must not start a decoder"
    bc = web.dashboard.broadcaster
    assert bc.latest_at(("door", "live")) is None, "no JPEG was made of the video camera"
    assert bc.latest_at(("yard", "live")) is not None, "the JPEG camera's pictures still flow"
    live = web.app.state.live.stats()
    # One fragment per packet for the camera, however many viewers: made once, sent 8 times.
    assert live.fragments_sent >= 8 * 20
    assert live.fragments_made < live.fragments_sent / 4


def test_a_jpeg_camera_is_refused_with_a_reason(
    hub: camhub.Hub, web: WebServer, cameras: Any
) -> None:
    cameras("yard")
    wait_until(lambda: hub.camera_stats("yard") is not None, what="the JPEG camera")

    async def ask(name: str) -> dict[str, Any]:
        async with websockets.connect(_ws(web, name), open_timeout=5) as ws:
            answer: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 5))
            return answer

    assert run_in_thread(ask("yard")) == {
        "type": "error", "error": "camera sends jpeg: no live video for 'yard'",
    }  # fmt: skip
    assert run_in_thread(ask("nobody"))["error"] == "no such camera: no live video for 'nobody'"


def test_a_slow_viewer_drops_to_the_next_keyframe_and_counts_it(packets: list[Any]) -> None:
    async def run() -> Viewer:
        track = track_config("h264", packets[0].data)
        viewer = Viewer(LiveSettings(viewer_frames=10))

        def piece(i: int) -> Piece:
            packet = packets[i % 15]
            return Piece(b"x%d" % i, i % 15 == 0, track, b"init", float(i), packet, i * 6000)

        for i in range(1, 15):  # joined mid-group: waits for the keyframe
            viewer.offer(piece(i))
        assert viewer.dropped == 14 and not viewer.queue
        for i in range(15, 25):  # a keyframe and 9 more: fits
            viewer.offer(piece(i))
        assert len(viewer.queue) == 10 and viewer.dropped == 14
        viewer.offer(piece(25))  # never taken: over the bound, a P-frame
        assert not viewer.queue and viewer.dropped == 14 + 10 + 1 and viewer.wait_key
        for i in range(26, 30):
            viewer.offer(piece(i))
        assert not viewer.queue and viewer.dropped == 29
        viewer.offer(piece(30))  # the next keyframe: it resumes there
        assert [p.at for p in viewer.queue] == [30.0] and not viewer.wait_key
        return viewer

    run_in_thread(run())


def test_a_viewer_that_stops_reading_drops_groups_and_never_holds_up_ingest(
    hub: camhub.Hub, packets: list[Any]
) -> None:
    """A page that stops reading: its socket fills, the hub keeps taking the camera's
    frames at their rate, and the viewer drops to keyframes, counted. (The P-frames are
    200 kB of filler after a real keyframe, so the buffers fill within seconds; the hub
    never decodes them.)"""
    filler = os.urandom(200_000).replace(b"\x00", b"\x01")
    p_frame = VideoPacket("h264", b"\x00\x00\x00\x01\x41" + filler, False)
    big = [packets[0], *([p_frame] * 14)]
    cam = VideoCamera(hub, "big", big, fps=15)
    server = WebServer(hub, "127.0.0.1:0").start()
    try:
        wait_until(lambda: cam.sent > 1, what="the camera")

        async def stall() -> tuple[int, int, int]:
            ws = await websockets.connect(
                _ws(server, "big"), open_timeout=5, max_size=None, max_queue=1
            )
            live = server.app.state.live
            first = hub.camera_stats("big")
            assert first is not None
            sent_before = cam.sent
            deadline = time.monotonic() + 30
            while live.stats().viewer_drops == 0 and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            await asyncio.sleep(1)
            stats = hub.camera_stats("big")
            assert stats is not None
            taken = stats.frames - first.frames
            sent = cam.sent - sent_before
            drops = live.stats().viewer_drops
            await ws.close()
            return taken, sent, drops

        taken, sent, drops = run_in_thread(stall())
        assert drops > 0, "a viewer that does not read must drop"
        assert taken >= sent - 1, f"ingest kept up with the camera ({taken} of {sent})"
    finally:
        server.stop()
        cam.stop()


def test_mjpeg_of_a_video_camera_decodes_only_while_watched(packets: list[Any]) -> None:
    """VLC and Home Assistant keep their MJPEG URL: for a video camera the hub decodes
    and encodes JPEG while someone reads it, and stops once nobody does."""
    from camhub.video.track import VideoSettings

    hub = camhub.Hub("tcp://127.0.0.1:0", video_settings=VideoSettings(idle=0.5)).start()
    cam = VideoCamera(hub, "door", packets, fps=15)
    server = WebServer(hub, "127.0.0.1:0").start()

    def decoding() -> bool:
        stats = hub.camera_stats("door")
        return stats is not None and stats.decoding

    try:
        wait_until(lambda: cam.sent > 20, what="the camera")
        assert not decoding()
        url = server.url + "api/cameras/door/stream.mjpg"
        with httpx.stream("GET", url, timeout=5) as resp:
            assert resp.headers["content-type"].startswith("multipart/x-mixed-replace")
            body = b""
            for chunk in resp.iter_bytes():
                body += chunk
                if body.count(b"\xff\xd9") >= 3:  # three whole JPEGs
                    break
            assert decoding()
        wait_until(lambda: not decoding(), what="the decoder to stop after the viewer left")
    finally:
        server.stop()
        cam.stop()
        hub.stop()
