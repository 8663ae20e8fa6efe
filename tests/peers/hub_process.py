"""A camhub Hub in its own process, so a test can kill it with SIGKILL and start another.

Usage: hub_process.py ENDPOINT  -> prints 'READY', then one line per camera count on
stdin request 'stats'.
"""

import sys

import camhub

hub = camhub.Hub(sys.argv[1]).start()
print("READY", hub.endpoint, flush=True)
for line in sys.stdin:
    if line.strip() == "stats":
        print(" ".join(f"{s.name}={s.frames}" for s in hub.stats()) or "-", flush=True)
hub.stop()
