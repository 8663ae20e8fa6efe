"""Real camera servers for tests and benchmarks, all bound to 127.0.0.1 on OS-assigned
ports: GStreamer's RTSP server, ffmpeg's MJPEG-over-HTTP server and a small Python MJPEG
server for the variations (chunked or not, Basic auth, stamped frames)."""
