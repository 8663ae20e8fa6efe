"""A sender in its own process that streams until killed.

Usage: sender_process.py KIND ENDPOINT NAME   KIND: camhub | imagezmq
"""

import sys
import time

import numpy as np

kind, endpoint, name = sys.argv[1:4]
img = np.full((120, 160, 3), 90, np.uint8)
if kind == "imagezmq":
    import imagezmq

    sender = imagezmq.ImageSender(endpoint)
    print("READY", flush=True)
    while True:
        sender.send_image(name, img)
        time.sleep(0.005)
else:
    import camhub

    native = camhub.Sender(endpoint, window=4)
    print("READY", flush=True)
    while True:
        native.send_image(name, img)
        time.sleep(0.005)
