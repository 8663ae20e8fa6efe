"""A real RTSP camera for tests and benchmarks: GStreamer's RTSP server streaming H.264
at IP Webcam's path ``/h264_ulaw.sdp``.

Run it with the SYSTEM Python, which has python3-gi (the venv does not):

    /usr/bin/python3 tests/servers/rtsp_server.py [--size 320x240] [--fps 15] [--stamp]

It binds 127.0.0.1 on a port the OS picks and prints ``READY <port>`` once it accepts
clients. ``--stamp`` replaces the test pattern with frames that carry the wall-clock
send time as a barcode (see tests/servers/stamp.py) so that a reader can measure the
age of a frame from camera server to hub. It stops on SIGTERM/SIGINT or when stdin
closes (so it never outlives the test that started it).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
gi.require_version("GstRtsp", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

STAMP_BITS = 48
STAMP_ROWS = 32
LOW, HIGH = 16, 235


def stamp_frame(width: int, height: int, millis: int, base: bytes) -> bytes:
    """An I420 frame: grey picture with ``millis`` drawn as black/white blocks on top."""
    block = width // STAMP_BITS
    row = bytearray(width)
    for bit in range(STAMP_BITS):
        value = HIGH if (millis >> (STAMP_BITS - 1 - bit)) & 1 else LOW
        row[bit * block : (bit + 1) * block] = bytes([value]) * block
    band = bytes(row) * STAMP_ROWS
    return band + base[len(band) :]


class StampFactory(GstRtspServer.RTSPMediaFactory):
    def __init__(self, width: int, height: int, fps: int) -> None:
        super().__init__()
        self.width, self.height, self.fps = width, height, fps
        luma = bytearray()
        for y in range(height):  # a diagonal gradient so the encoder has something to do
            luma += bytes((x + y) % 200 + 28 for x in range(width))
        chroma = bytes([128]) * (width * height // 2)
        self.base = bytes(luma) + chroma
        self.set_shared(True)

    def do_create_element(self, url):  # type: ignore[no-untyped-def]
        caps = f"video/x-raw,format=I420,width={self.width},height={self.height},framerate={self.fps}/1"
        pipeline = (
            f"( appsrc name=src is-live=true format=time do-timestamp=true caps={caps} "
            f"! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={self.fps} bitrate=3000 "
            "! rtph264pay name=pay0 pt=96 config-interval=1 )"
        )
        bin_ = Gst.parse_launch(pipeline)
        src = bin_.get_by_name("src")
        stop = threading.Event()

        def feed() -> None:
            period = 1.0 / self.fps
            next_at = time.monotonic()
            while not stop.is_set():
                millis = int(time.time() * 1000)
                data = stamp_frame(self.width, self.height, millis, self.base)
                if src.emit("push-buffer", Gst.Buffer.new_wrapped(data)) != Gst.FlowReturn.OK:
                    break
                next_at += period
                time.sleep(max(0.0, next_at - time.monotonic()))

        threading.Thread(target=feed, daemon=True).start()
        bin_.connect("deep-element-removed", lambda *a: None)
        return bin_


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="320x240")
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--path", default="/h264_ulaw.sdp")
    parser.add_argument("--port", type=int, default=0, help="0 = let the OS pick")
    parser.add_argument("--stamp", action="store_true", help="barcode the send time in")
    parser.add_argument(
        "--pattern", default="ball", help="videotestsrc pattern (ball, smpte, snow)"
    )
    parser.add_argument("--bitrate", type=int, default=0, help="x264 kbit/s (0 = its default)")
    parser.add_argument("--file", help="stream this MP4's H.264 as it is (no re-encode)")
    parser.add_argument("--jpeg", action="store_true", help="send MJPEG (RFC 2435), not H.264")
    parser.add_argument("--user", help="ask for this user name (Digest authentication)")
    parser.add_argument("--password", default="", help="the --user's password")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    if args.file:
        # The camera's access units are the file's: a test can compare them byte for byte.
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(
            f"( filesrc location={args.file} ! qtdemux ! h264parse "
            "! rtph264pay name=pay0 pt=96 config-interval=-1 )"
        )
    elif args.stamp:
        factory: GstRtspServer.RTSPMediaFactory = StampFactory(width, height, args.fps)
    else:
        factory = GstRtspServer.RTSPMediaFactory()
        bitrate = f" bitrate={args.bitrate}" if args.bitrate else ""
        motion = " horizontal-speed=4" if args.pattern == "smpte" else ""
        encode = (
            "videoconvert ! video/x-raw,format=I420 ! jpegenc ! rtpjpegpay name=pay0 pt=26"
            if args.jpeg
            else f"x264enc tune=zerolatency speed-preset=ultrafast key-int-max={args.fps}{bitrate} "
            "! rtph264pay name=pay0 pt=96 config-interval=1"
        )
        factory.set_launch(
            f"( videotestsrc is-live=true pattern={args.pattern}{motion} "
            f"! video/x-raw,width={width},height={height},framerate={args.fps}/1 ! {encode} )"
        )
        factory.set_shared(True)
    if args.user:
        auth = GstRtspServer.RTSPAuth()
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "user")
        auth.add_digest(args.user, args.password, token)
        server.set_auth(auth)
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_role_from_structure(
            Gst.Structure.new_from_string(
                "user, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
            )
        )
        factory.set_permissions(permissions)
    server.get_mount_points().add_factory(args.path, factory)
    if server.attach(None) == 0:
        print("ERROR cannot attach the RTSP server", flush=True)
        return 1
    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)

    def watch_stdin() -> None:
        sys.stdin.read()
        GLib.idle_add(loop.quit)

    threading.Thread(target=watch_stdin, daemon=True).start()
    print(f"READY {server.get_bound_port()}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
