"""A hub that records a video camera continuously, in its own process, so a test can
kill it with SIGKILL mid-segment. The camera's packets (real H.264, made by the test)
reach the hub through ``CameraStore.put``, the one ingest path, at 30 fps, looping over
the file's groups with time and ``seq`` going on.

Usage: record_video_process.py DATA_DIR PACKETS -> prints 'READY', then 'WRITTEN <n> <k>'
every 20 ms: packets the recorder has handed to the OS in complete fragments (n), of
which k in the segment it is writing now.
PACKETS: for each packet, ``key: u8, length: u32 BE, data``; it starts on a keyframe.
"""

import struct
import sys
import threading
import time
from pathlib import Path

import camhub
from camhub.history import History
from camhub.record.settings import CameraRecording, RecordSettings
from camhub.types import Frame
from camhub.video.packet import TIME_BASE, VideoPacket

FPS = 30

raw = Path(sys.argv[2]).read_bytes()
loop: list[tuple[bool, bytes]] = []
pos = 0
while pos < len(raw):
    key, length = struct.unpack_from(">BI", raw, pos)
    loop.append((bool(key), raw[pos + 5 : pos + 5 + length]))
    pos += 5 + length

hub = camhub.Hub("tcp://127.0.0.1:0")
settings = RecordSettings(default=CameraRecording("continuous"), segment_seconds=1.0, min_free_gb=0)
history = History(hub.store, hub.bus, Path(sys.argv[1]), settings).start()
hub.start()


def camera() -> None:
    i = 0
    start = time.monotonic()
    while True:
        key, data = loop[i % len(loop)]
        packet = VideoPacket("h264", data, key, pts=i * TIME_BASE // FPS)
        now = time.time()
        hub.store.put(Frame("cam", video=packet, seq=i, captured_at=now, received_at=now), "camera")
        i += 1
        time.sleep(max(0.0, start + i / FPS - time.monotonic()))


threading.Thread(target=camera, daemon=True).start()
print("READY", flush=True)
assert history.recorder is not None
while True:
    written = sum(c.frames - c.buffered for c in history.recorder.stats().cameras)
    cam = history.recorder._cameras.get("cam")
    now = cam.writer.frames if cam is not None and cam.writer is not None else 0
    print(f"WRITTEN {written} {now}", flush=True)
    time.sleep(0.02)
