"""A recorder in its own process, recording one camera continuously, so a test can kill
it with SIGKILL mid-segment.

Usage: record_process.py DATA_DIR -> prints 'READY', then 'WRITTEN <frames>' every
50 ms: frames the recorder has written (and flushed to the OS) so far.
"""

import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from camhub.record.index import SegmentIndex
from camhub.record.recorder import Recorder
from camhub.record.settings import CameraRecording, RecordSettings
from tests.record.helpers import FrameQueue, frame

frames = FrameQueue(256)
settings = RecordSettings(default=CameraRecording("continuous"), segment_seconds=1.0, min_free_gb=0)
recorder = Recorder(frames, None, SegmentIndex.open(Path(sys.argv[1])), settings).start()


def camera() -> None:
    i = 0
    while True:
        frames.put(frame("cam", time.time(), i))
        i += 1
        time.sleep(0.02)


threading.Thread(target=camera, daemon=True).start()
print("READY", flush=True)
while True:
    written = sum(int(c["frames"]) for c in recorder.stats()["cameras"])  # type: ignore[attr-defined]
    print(f"WRITTEN {written}", flush=True)
    time.sleep(0.05)
