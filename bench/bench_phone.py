#!/usr/bin/env python3
"""Browser cameras (issue 12), measured.

1. Browser cameras: 1 and 4 real chromium pages (Debian's chromium with its fake 640x480
   camera, through Playwright) stream into a hub over HTTPS. Printed: frames/s arriving
   per camera and frame age (capture on the page -> arrival at the hub; the page stamps
   frames in the hub's clock).
2. Hub CPU per frame, WebSocket path vs ZeroMQ path: the same 640x480 JPEGs sent from
   this process, one frame in flight at a time on both paths (as the page does), into a
   hub in its own process whose CPU time is read from the OS. WebSocket over plain
   ``ws://`` (the like-for-like comparison with plaintext ZeroMQ) and over ``wss://``
   (what phones use). Target: WebSocket <= 1.5x the ZeroMQ CPU per frame.

    python -m bench.bench_phone [--seconds 6] [--quick] [--no-browser]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import ssl
import tempfile
import threading
import time
from multiprocessing.synchronize import Event as MpEvent
from pathlib import Path
from typing import Any

from bench.common import (
    camhub_jpeg,
    machine_description,
    median,
    percentile,
    print_table,
    test_frame,
    usage,
)

TARGET = 1.5


# -- the hub in its own process (part 2) ------------------------------------------------


def hub_main(folder: str, tls: bool, ready: Any, stop: MpEvent) -> None:
    import logging

    import camhub

    logging.getLogger("camhub").setLevel(logging.ERROR)  # offline notes between windows
    from camhub.phones import DeviceRegistry
    from camhub.security.certs import ensure_certificate
    from camhub.web import WebServer
    from camhub.web.phone import Phones

    hub = camhub.Hub(bind="tcp://127.0.0.1:0").start()
    registry = DeviceRegistry(folder)
    token = registry.pair(registry.pairing_code, "ws-cam")
    cert, key = ensure_certificate(folder) if tls else (None, None)
    phones = Phones(registry, hub.store.put, limits=hub.limits, bus=hub.bus)
    phones.gate.limits.max_fps = 10_000.0  # measure the path, not the policy
    web = WebServer(hub, "127.0.0.1:0", tls_cert=cert, tls_key=key, phones=phones).start()
    scheme = "wss" if tls else "ws"
    ready.put((hub.endpoint, f"{scheme}://127.0.0.1:{web.port}/cam/ws", token, str(cert)))
    stop.wait()
    web.stop()
    hub.stop()


def zmq_window(endpoint: str, jpegs: list[bytes], seconds: float) -> int:
    import camhub

    sent = 0
    with camhub.Sender(endpoint, window=1, timeout=5) as sender:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            jpeg = jpegs[sent % len(jpegs)]
            if sender.send_jpeg("zmq-cam", jpeg, width=640, height=480) is not None:
                sent += 1
        sender.flush(5)
    return sent


def ws_window(url: str, token: str, cert: str | None, jpegs: list[bytes], seconds: float) -> int:
    from websockets.sync.client import connect

    from camhub.phones.wire import encode_frame

    ctx = ssl.create_default_context(cafile=cert) if cert else None
    sent = 0
    with connect(url, ssl=ctx, max_size=None, compression=None) as ws:
        ws.send(json.dumps({"type": "hello", "token": token}))
        assert json.loads(ws.recv(timeout=10))["type"] == "welcome"
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ws.send(encode_frame(jpegs[sent % len(jpegs)], sent, time.time()))
            reply = json.loads(ws.recv(timeout=10))
            if reply["type"] == "ack":
                sent += 1
    return sent


def cpu_per_frame(seconds: float, runs: int) -> list[list[object]]:
    jpegs = [camhub_jpeg(test_frame(seed)) for seed in range(4)]
    ctx = mp.get_context("spawn")
    results: dict[str, list[tuple[float, float]]] = {}
    for tls in (False, True):
        ready: Any = ctx.Queue()
        stop = ctx.Event()
        with tempfile.TemporaryDirectory() as folder:
            proc = ctx.Process(target=hub_main, args=(folder, tls, ready, stop), daemon=True)
            proc.start()
            endpoint, url, token, cert = ready.get(timeout=60)
            assert proc.pid is not None
            variants = {f"WebSocket ({'wss' if tls else 'ws'})": "ws"}
            if not tls:
                variants = {"ZeroMQ (camhub Sender, window 1)": "zmq", **variants}
            for _ in range(runs):  # interleaved, so background load hits both alike
                for label, kind in variants.items():
                    before = usage(proc.pid)
                    if kind == "zmq":
                        frames = zmq_window(endpoint, jpegs, seconds)
                    else:
                        frames = ws_window(url, token, cert if tls else None, jpegs, seconds)
                    after = usage(proc.pid)
                    cpu_us = (after.cpu - before.cpu) / max(frames, 1) * 1e6
                    results.setdefault(label, []).append((cpu_us, frames / seconds))
            stop.set()
            proc.join(10)
    base = median([c for c, _ in results["ZeroMQ (camhub Sender, window 1)"]])
    rows: list[list[object]] = []
    for label, runs_ in results.items():
        cpu = median([c for c, _ in runs_])
        fps = median([f for _, f in runs_])
        met = "" if label.startswith("ZeroMQ") else ("yes" if cpu <= TARGET * base else "NO")
        rows.append([label, fps, cpu, f"{cpu / base:.2f}x", met])
    return rows


# -- browser cameras (part 1) -------------------------------------------------------------


def browsers(cameras: int, seconds: float) -> list[object]:
    from playwright.sync_api import sync_playwright

    import camhub
    from camhub.phones import DeviceRegistry
    from camhub.security.certs import ensure_certificate
    from camhub.web import WebServer
    from camhub.web.browser import CHROMIUM, CHROMIUM_ARGS
    from camhub.web.phone import Phones

    fake = [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        "--ignore-certificate-errors",
    ]
    ages: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        hub = camhub.Hub(bind="tcp://127.0.0.1:0").start()
        registry = DeviceRegistry(folder)
        cert, key = ensure_certificate(Path(folder))
        phones = Phones(registry, hub.store.put, limits=hub.limits, bus=hub.bus)
        web = WebServer(hub, "127.0.0.1:0", tls_cert=cert, tls_key=key, phones=phones).start()
        sub = hub.subscribe(maxsize=10_000, name="bench")
        stop = threading.Event()
        measuring = threading.Event()

        def collect() -> None:
            while not stop.is_set():
                frame = sub.get(0.2)
                if frame is not None and measuring.is_set() and frame.age is not None:
                    ages.setdefault(frame.name, []).append(frame.age * 1000)

        collector = threading.Thread(target=collect, daemon=True)
        collector.start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *fake])
                for i in range(cameras):
                    page = browser.new_context(ignore_https_errors=True).new_page()
                    page.goto(f"https://127.0.0.1:{web.port}/cam?pair={registry.pairing_code}")
                    page.fill("#name", f"phone{i}")
                    page.select_option("#fps", "30")
                    page.click("#start")
                time.sleep(3.0)  # warm-up: camera start, pairing, clock sync
                measuring.set()
                time.sleep(seconds)
                measuring.clear()
                browser.close()
        finally:
            stop.set()
            collector.join(2)
            sub.close()
            web.stop()
            hub.stop()
    per_cam = [len(v) / seconds for v in ages.values()]
    everything = [a for v in ages.values() for a in v]
    return [
        cameras,
        len(ages),
        median(per_cam) if per_cam else 0.0,
        min(per_cam) if per_cam else 0.0,
        median(everything),
        percentile(everything, 95),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="measured window per run")
    parser.add_argument("--runs", type=int, default=3, help="interleaved runs per variant")
    parser.add_argument("--quick", action="store_true", help="short windows, one run")
    parser.add_argument("--no-browser", action="store_true", help="skip the chromium part")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.runs = 1.5, 1
    print(f"machine: {machine_description()}")
    if not args.no_browser:
        rows = [browsers(n, args.seconds) for n in ((1,) if args.quick else (1, 4))]
        print_table(
            "Browser cameras into a hub over HTTPS (chromium, fake 640x480 camera, 30 fps asked)",
            [
                "pages",
                "cameras seen",
                "fps/camera (median)",
                "fps (slowest)",
                "age ms (median)",
                "age ms (p95)",
            ],
            rows,
        )
    print_table(
        f"Hub CPU per frame, same 640x480 JPEGs (target: WebSocket <= {TARGET}x ZeroMQ)",
        ["path", "frames/s", "hub CPU us/frame", "vs ZeroMQ", "target met"],
        cpu_per_frame(args.seconds, args.runs),
    )


if __name__ == "__main__":
    main()
