"""The dashboard header shows each notification sink's health (real broker, real
chromium): green while connected, red with the last error when its target is down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

import camhub
from camhub.bus import EventBus
from camhub.events.model import Event, EventUpdate
from camhub.notify import MqttSettings, MqttSink, WebhookSettings, WebhookSink
from camhub.web import WebServer
from tests.conftest import wait_until
from tests.servers.mosquitto import Broker

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    b = Broker(tmp_path).start()
    yield b
    b.stop()


@pytest.mark.browser
def test_header_shows_sink_health(
    dead_port: int, page: Any, hub: camhub.Hub, broker: Broker
) -> None:
    bus = EventBus()
    mqtt = MqttSink(MqttSettings(host=broker.host, port=broker.port)).start(bus)
    hook = WebhookSink(WebhookSettings(url=f"http://127.0.0.1:{dead_port}/x", retries=0))
    hook.start(bus)
    hub.add_listener(bus.publish)
    server = WebServer(hub, "127.0.0.1:0", sinks=[mqtt, hook]).start()
    try:
        wait_until(lambda: mqtt.connected, what="MQTT connected")
        bus.publish(EventUpdate("new", Event(camera="c", label="motion", start=1.0)))
        wait_until(lambda: hook.stats().errors == 1, what="the webhook to fail")
        page.goto(server.url)
        page.wait_for_selector(".sink[data-sink='mqtt'].ok")
        chip = page.locator(".sink[data-sink='mqtt']")
        assert chip.text_content().startswith("mqtt ●")
        assert chip.get_attribute("title") == f"127.0.0.1:{broker.port}"
        bad = page.locator(".sink.bad")
        assert bad.count() == 1
        assert "webhook ○" in bad.text_content() and "1 errors" in bad.text_content()
        assert "last error: unreachable" in (bad.get_attribute("title") or "")
    finally:
        server.stop()
        mqtt.stop()
        hook.stop()
        bus.close()


def test_no_sinks_no_health(api: TestClient) -> None:
    assert api.get("/api/notify").json()["sinks"] == []
    assert "camhub_sink_" not in api.get("/metrics").text
