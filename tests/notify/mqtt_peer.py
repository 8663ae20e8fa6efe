"""A process that runs only an MQTT sink (as a hub would); the test SIGKILLs it to check
that the broker publishes the last will. Prints READY once connected."""

from __future__ import annotations

import sys
import time

from camhub.notify import MqttSettings, MqttSink


def main() -> None:
    sink = MqttSink(MqttSettings(host=sys.argv[1], port=int(sys.argv[2]), keepalive=5)).start()
    deadline = time.monotonic() + 10
    while not sink.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    print("READY" if sink.connected else "NOT CONNECTED", flush=True)
    time.sleep(120)


if __name__ == "__main__":
    main()
