"""A hub that records every camera continuously, in its own process, so a test can kill
it with SIGKILL mid-segment.

Usage: record_process.py DATA_DIR -> prints 'READY <endpoint>', then 'WRITTEN <frames>'
every 50 ms: frames the recorder has written (and handed to the OS) so far.
"""

import sys
import time
from pathlib import Path

import camhub
from camhub.history import History
from camhub.record.settings import CameraRecording, RecordSettings

hub = camhub.Hub("tcp://127.0.0.1:0")
settings = RecordSettings(default=CameraRecording("continuous"), segment_seconds=1.0, min_free_gb=0)
history = History(hub.store, hub.bus, Path(sys.argv[1]), settings).start()
hub.start()
print("READY", hub.endpoint, flush=True)
assert history.recorder is not None
while True:
    written = sum(int(c.frames) for c in history.recorder.stats().cameras)
    print(f"WRITTEN {written}", flush=True)
    time.sleep(0.05)
