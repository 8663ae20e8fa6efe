#!/usr/bin/env python3
"""Glass-to-glass latency of live video in the browser, and the bytes a viewer gets.

A camera process draws a frame counter into every picture (a row of black and white
blocks along the top), stamps the moment it made the picture, and sends it through
``camhub.Sender`` over ZeroMQ to a hub in this process with its dashboard. Debian's
chromium (Playwright) opens the camera's page; a script in the page draws the element
that shows the camera (the ``<video>`` or the ``<img>``) onto a canvas at every
animation frame, reads the counter back, and notes when each counter first appears on
screen. Latency = that moment - the camera's stamp (one machine, one clock), so it
covers encode, network, hub, browser decode and paint (plus up to one animation frame,
~16 ms, for the page to look; the same for every path).

Paths, one after the other in the same run:

* ``jpeg``: a JPEG camera (q85), shown as today in an ``<img>`` from the dashboard's
  picture stream: the baseline;
* ``webrtc``: the same pictures as H.264 (camhub's sender encoder: libx264 ultrafast,
  zerolatency), sent on by the hub over WebRTC (aiortc) without re-encoding;
* ``mse``: the H.264 camera in a page without WebRTC: fMP4 over the live WebSocket into
  Media Source Extensions, no transcoding;
* ``video-as-jpeg``: the H.264 camera in a page with neither, so the hub decodes it and
  encodes JPEG for it (the last fallback).

Bytes: what the viewer got per second (``jpeg``: JPEG bytes the page received; ``mse``:
fMP4 bytes the hub sent on the socket; ``webrtc``: H.264 bytes the hub handed to aiortc,
without RTP/SRTP headers).

Fan-out (``--fanout``, instead): 4 H.264 cameras, hub ingest and hub CPU with no viewer
and with 16 live-video viewers (4 per camera, WebSocket clients in another process, as
browsers would be), and whether any decoder ran.

    python -m bench.bench_live [--seconds 10] [--size 640x480] [--fps 15] [--fanout]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import time
from multiprocessing.sharedctypes import SynchronizedArray
from multiprocessing.synchronize import Event as MpEvent
from typing import Any

import numpy as np

import camhub
from bench.common import percentile, print_table, ratio, test_frame
from camhub.web import WebServer
from camhub.web.browser import CHROMIUM, CHROMIUM_ARGS
from camhub.web.webrtc import WebRtcLive

NO_WEBRTC = "delete window.RTCPeerConnection;"
NO_MSE = "delete window.MediaSource; delete window.ManagedMediaSource;"
BITS = 16
STAMPS = 1 << BITS
BLOCK = 32
"""Side of one counter block in pixels: big enough to survive compression."""


def draw_counter(base: np.ndarray, counter: int) -> np.ndarray:
    """``base`` with ``counter`` in its top strip: a white start block, a black one,
    then ``BITS`` blocks, most significant bit first (white = 1)."""
    img = base.copy()
    bits = [1, 0, *((counter >> (BITS - 1 - i)) & 1 for i in range(BITS))]
    for i, bit in enumerate(bits):
        img[0:BLOCK, i * BLOCK : (i + 1) * BLOCK] = 255 if bit else 0
    return img


def camera_main(
    endpoint: str,
    name: str,
    codec: str,
    size: tuple[int, int],
    fps: float,
    stamps: SynchronizedArray[float],
    stop: MpEvent,
) -> None:
    from camhub.types import Frame
    from camhub.video.encoder import H264Encoder

    base = test_frame(0, *size)
    encoder = H264Encoder() if codec == "h264" else None
    sender = camhub.Sender(
        endpoint,
        timeout=2.0,
        video=("h264",) if encoder is not None else (),
        on_keyframe_needed=None if encoder is None else encoder.request_keyframe,
    )
    start = time.monotonic()
    i = 0
    video = False
    while not stop.is_set():
        img = draw_counter(base, i % STAMPS)
        at = time.time()
        stamps[i % STAMPS] = at
        # Until the hub has said it takes H.264 (its first answer), send JPEG, as
        # ``camhub send`` does; the first H.264 picture after that is a keyframe.
        if encoder is not None and sender.accepts("h264"):
            if not video:
                encoder.request_keyframe()
                video = True
            packet = encoder.encode(img, at)
            sender.send_frame(
                Frame(name, video=packet, seq=i, captured_at=at, width=size[0], height=size[1])
            )
        else:
            jpeg = camhub.encode_jpeg(img, quality=85)
            sender.send_jpeg(name, jpeg, captured_at=at, width=size[0], height=size[1])
        i += 1
        stop.wait(max(0.0, start + i / fps - time.monotonic()))
    sender.close()


# Runs in the page (page.evaluate is not subject to the page's CSP): watch the element
# that shows the camera, note when each counter first appears.
WATCH = """([bits, block]) => {
  window.__seen = [];
  window.__jpegBytes = 0;
  const put = camhub.ImageSink.prototype.put;
  camhub.ImageSink.prototype.put = function (bytes) {
    window.__jpegBytes += bytes.byteLength;
    return put.call(this, bytes);
  };
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  const n = bits + 2;
  canvas.width = n * block; canvas.height = block;
  let last = -1;
  window.__stalls = 0;
  document.addEventListener('waiting', () => { window.__stalls += 1; }, true);
  function shown() {
    const fig = document.querySelector('figure[data-view="live"]');
    if (!fig) return null;
    const v = fig.querySelector('video');
    if (v && !v.hidden && v.videoWidth) return v;
    const img = fig.querySelector('img');
    return img && !img.hidden && img.naturalWidth ? img : null;
  }
  function tick() {
    const el = shown();
    if (el) {
      ctx.drawImage(el, 0, 0, n * block, block, 0, 0, n * block, block);
      const px = ctx.getImageData(0, 0, n * block, block).data;
      const lum = (i) => px[((block >> 1) * n * block + i * block + (block >> 1)) * 4 + 1];
      if (lum(0) > 128 && lum(1) < 128) {
        let code = 0;
        for (let i = 0; i < bits; i++) code = (code << 1) | (lum(i + 2) > 128 ? 1 : 0);
        if (code !== last) {
          last = code;
          window.__seen.push([code, performance.timeOrigin + performance.now(),
                              el.tagName.toLowerCase()]);
        }
      }
    }
    requestAnimationFrame(tick);
  }
  requestAnimationFrame(tick);
}"""


JUMPS = """() => { const v = document.querySelector('figure[data-view="live"] video');
  return Number((v && v.dataset.jumps) || 0); }"""


def measure(
    browser: Any,
    web: WebServer,
    name: str,
    stamps: SynchronizedArray[float],
    seconds: float,
    *,
    without: str,
) -> dict[str, Any]:
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    if without:
        page.add_init_script(without)
    page.goto(web.url + "camera?name=" + name)
    live = web.app.state.live
    deadline = time.monotonic() + 30
    page.evaluate(WATCH, [BITS, BLOCK])
    while time.monotonic() < deadline:
        if page.evaluate("() => window.__seen.length") > 5:
            break
        time.sleep(0.2)
    else:
        context.close()
        raise SystemExit(f"{name}: no counter read back from the page within 30 s")
    time.sleep(1.0)  # settle (a video viewer has jumped to the live edge by now)
    page.evaluate("() => { window.__seen = []; window.__jpegBytes = 0; window.__stalls = 0; }")
    jumps_before = page.evaluate(JUMPS)
    sent_before = live.stats().bytes_sent
    t0 = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - t0
    seen: list[list[Any]] = page.evaluate("() => window.__seen")
    jpeg_bytes: int = page.evaluate("() => window.__jpegBytes")
    stalls: int = page.evaluate("() => window.__stalls")
    jumps: int = page.evaluate(JUMPS) - jumps_before
    video_bytes = live.stats().bytes_sent - sent_before
    context.close()
    latencies = []
    kinds = set()
    for code, at_ms, kind in seen:
        kinds.add(kind)
        stamp = stamps[code]
        if stamp > 0:
            latencies.append(at_ms / 1000 - stamp)
    if not latencies:
        raise SystemExit(f"{name}: no frames measured")
    return {
        "latencies": latencies,
        "shown_fps": len(seen) / elapsed,
        "bytes_per_s": (video_bytes if "video" in kinds else jpeg_bytes) / elapsed,
        "element": "/".join(sorted(kinds)),
        "stalls": stalls,
        "jumps": jumps,
    }


def run_path(
    hub: camhub.Hub,
    web: WebServer,
    browser: Any,
    name: str,
    codec: str,
    args: argparse.Namespace,
    *,
    without: str = "",
) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    stamps = ctx.Array("d", STAMPS, lock=False)
    stop = ctx.Event()
    proc = ctx.Process(
        target=camera_main,
        args=(hub.endpoint, name, codec, args.size, args.fps, stamps, stop),
        daemon=True,
    )
    proc.start()
    try:
        wanted = "jpeg" if codec == "jpeg" else "h264"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            stats = hub.camera_stats(name)
            if stats is not None and stats.encoding == wanted and stats.frames > 10:
                break
            time.sleep(0.1)
        else:
            raise SystemExit(f"camera {name} did not stream {wanted} within 30 s")
        return measure(browser, web, name, stamps, args.seconds, without=without)
    finally:
        stop.set()
        proc.join(5)


def viewers_main(urls: list[str], seconds: float, out: Any) -> None:
    """16 live-video viewers: read every message, count bytes (another process)."""
    import asyncio

    import websockets

    async def view(url: str) -> int:
        got = 0
        async with websockets.connect(url, open_timeout=10, max_size=None) as ws:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                msg = await asyncio.wait_for(ws.recv(), 5)
                got += len(msg)
        return got

    async def run() -> list[int]:
        return list(await asyncio.gather(*(view(u) for u in urls)))

    out.put(asyncio.run(run()))


def fanout(args: argparse.Namespace) -> None:
    import psutil

    names = [f"cam{i}" for i in range(4)]
    hub = camhub.Hub("tcp://127.0.0.1:0").start()
    web = WebServer(hub, "127.0.0.1:0").start()
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    procs = []
    for n in names:
        stamps = ctx.Array("d", STAMPS, lock=False)
        cam_args = (hub.endpoint, n, "h264", args.size, args.fps, stamps, stop)
        procs.append(ctx.Process(target=camera_main, args=cam_args, daemon=True))
    for p in procs:
        p.start()
    me = psutil.Process()

    def ingest(seconds: float) -> tuple[float, float]:
        frames0 = sum(s.frames for s in hub.stats())
        cpu0 = sum(me.cpu_times()[:2])
        t0 = time.monotonic()
        time.sleep(seconds)
        elapsed = time.monotonic() - t0
        frames = sum(s.frames for s in hub.stats()) - frames0
        return frames / elapsed, (sum(me.cpu_times()[:2]) - cpu0) / elapsed * 100

    try:
        deadline = time.monotonic() + 120
        while not all(
            (st := hub.camera_stats(n)) is not None and st.encoding == "h264" for n in names
        ):
            if time.monotonic() > deadline:
                raise SystemExit("the cameras did not stream H.264 within 120 s")
            time.sleep(0.2)
        time.sleep(1)
        alone = ingest(args.seconds)
        base = web.url.replace("http://", "ws://") + "api/cameras/{}/live"
        urls = [base.format(n) for n in names for _ in range(4)]
        results = ctx.Queue()
        viewers = ctx.Process(target=viewers_main, args=(urls, args.seconds + 4, results))
        viewers.start()
        time.sleep(2)
        watched = ingest(args.seconds)
        decoding = any(s.decoding for s in hub.stats())
        got = results.get(timeout=30)
        viewers.join(5)
        live = web.app.state.live.stats()
    finally:
        stop.set()
        for p in procs:
            p.join(5)
        web.stop()
        hub.stop()
    w, h = args.size
    print_table(
        f"fan-out: 4 H.264 cameras {w}x{h} at {args.fps:g} fps, 16 live-video viewers",
        ["case", "hub ingest fps", "vs no viewers", "hub + dashboard CPU", "decoders running"],
        [
            ["no viewers", f"{alone[0]:.1f}", "", f"{alone[1]:.0f}%", "no"],
            ["16 WebSocket (MSE) viewers", f"{watched[0]:.1f}",
             ratio(watched[0], alone[0]), f"{watched[1]:.0f}%", "yes" if decoding else "no"],
        ],
    )  # fmt: skip
    per_viewer = sum(got) / len(got) / (args.seconds + 4) * 8 / 1e6
    print(
        f"per viewer {per_viewer:.2f} Mb/s; fragments made {live.fragments_made}, "
        f"sent {live.fragments_sent}; viewer drops {live.viewer_drops}, "
        f"feed skips {live.feed_skips}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument(
        "--size", type=lambda s: tuple(int(v) for v in s.split("x")), default=(640, 480)
    )
    parser.add_argument("--fanout", action="store_true", help="the fan-out case instead")
    args = parser.parse_args()
    if args.fanout:
        fanout(args)
        return
    from playwright.sync_api import sync_playwright

    hub = camhub.Hub("tcp://127.0.0.1:0").start()
    web = WebServer(hub, "127.0.0.1:0").start()
    results: dict[str, dict[str, Any]] = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM,
                args=[*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"],
            )
            results["jpeg"] = run_path(hub, web, browser, "cam-jpeg", "jpeg", args)
            if WebRtcLive.available():
                results["webrtc"] = run_path(hub, web, browser, "cam-rtc", "h264", args)
            else:
                print("aiortc is not installed: no WebRTC path (scripts/setup installs it)")
            results["mse"] = run_path(hub, web, browser, "cam-mse", "h264", args, without=NO_WEBRTC)
            results["video-as-jpeg"] = run_path(
                hub, web, browser, "cam-fallback", "h264", args, without=NO_WEBRTC + NO_MSE
            )
            browser.close()
    finally:
        web.stop()
        hub.stop()
    w, h = args.size
    base = results["jpeg"]
    rows = []
    for path, r in results.items():
        lat = sorted(r["latencies"])
        rows.append(
            [
                path,
                r["element"],
                f"{percentile(lat, 50) * 1000:.0f}",
                f"{percentile(lat, 90) * 1000:.0f}",
                f"{r['shown_fps']:.1f}",
                f"{r['bytes_per_s'] * 8 / 1e6:.2f}",
                ratio(base["bytes_per_s"], r["bytes_per_s"]),
                len(lat),
                f"{r['stalls']}/{r['jumps']}",
            ]
        )
    print_table(
        f"live view, {w}x{h} at {args.fps:g} fps, {args.seconds:g} s per path "
        "(glass-to-glass: picture made -> on screen in chromium)",
        ["path", "element", "p50 ms", "p90 ms", "shown fps", "Mb/s to viewer",
         "fewer bytes than jpeg", "frames", "stalls/jumps"],
        rows,
    )  # fmt: skip
    p50 = {k: statistics.median(r["latencies"]) * 1000 for k, r in results.items()}
    if "webrtc" in p50:
        print(f"WebRTC p50 {p50['webrtc']:.0f} ms (target <= 150 ms)")
    print(f"MSE p50 {p50['mse']:.0f} ms (target <= 600 ms); JPEG p50 {p50['jpeg']:.0f} ms")


if __name__ == "__main__":
    main()
