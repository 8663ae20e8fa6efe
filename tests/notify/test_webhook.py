"""Webhook sink against a real local HTTP server."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from camhub.bus import EventBus
from camhub.events.model import Event, EventUpdate
from camhub.notify import WebhookSettings, WebhookSink
from camhub.notify.webhook import redact_url
from camhub.types import HubEvent
from tests.conftest import wait_until
from tests.servers.webhook_target import Target


@pytest.fixture
def target() -> Iterator[Target]:
    t = Target()
    try:
        yield t
    finally:
        t.close()


def update(camera: str = "door") -> EventUpdate:
    return EventUpdate("new", Event(camera=camera, label="motion", start=time.time()))


def hook(url: str, **kw: object) -> WebhookSink:
    return WebhookSink(WebhookSettings.model_validate({"url": url, **kw}))


def test_posts_event_json(target: Target, bus: EventBus) -> None:
    sink = hook(target.url, headers={"Authorization": "Bearer s3cret"}).start(bus)
    try:
        first = update()
        bus.publish(first)
        bus.publish(HubEvent("camera_offline", "door", time.time()))  # not an event: skipped
        ended = first.after.copy()
        ended.end = ended.start + 2
        bus.publish(EventUpdate("end", ended, before=first.after))
        bodies = [json.loads(b) for b in target.wait_bodies(2)]
        assert [b["type"] for b in bodies] == ["new", "end"]
        assert bodies[0]["after"]["id"] == first.after.id
        assert bodies[1]["after"]["end_time"] == ended.end
        assert bodies[1]["before"]["end_time"] is None
        assert target.headers[0]["Authorization"] == "Bearer s3cret"
        assert target.headers[0]["Content-Type"] == "application/json"
        assert sink.flush()
        stats = sink.stats()
        assert (stats.sent, stats.dropped, stats.errors) == (2, 0, 0)
        assert stats.connected and stats.target == redact_url(target.url)
    finally:
        sink.stop()


def test_retries_server_errors_then_succeeds(target: Target, bus: EventBus) -> None:
    target.statuses = [503, 500]
    sink = hook(target.url, retries=3, backoff=0.05).start(bus)
    try:
        bus.publish(update())
        assert len(target.wait_bodies(1)) == 1
        assert sink.flush()
        stats = sink.stats()
        assert (stats.sent, stats.errors, stats.dropped) == (1, 2, 0)
        assert target.requests == 3
    finally:
        sink.stop()


def test_client_error_is_not_retried(target: Target, bus: EventBus) -> None:
    target.statuses = [404]
    sink = hook(target.url, retries=3, backoff=0.05).start(bus)
    try:
        bus.publish(update())
        wait_until(lambda: sink.stats().dropped == 1, 10)
        assert target.requests == 1
        assert sink.stats().last_error == "HTTP 404 Not Found"
    finally:
        sink.stop()


def test_target_down_retries_then_drops_without_slowing_ingest(
    dead_port: int, bus: EventBus
) -> None:
    url = f"http://127.0.0.1:{dead_port}/hook"  # nothing listens there
    sink = hook(url, retries=2, backoff=0.05, queue_size=5).start(bus)
    try:
        bus.publish(update())
        wait_until(lambda: sink.stats().dropped == 1, 10)
        stats = sink.stats()
        assert sink.attempts == 3 and stats.errors == 3 and stats.sent == 0
        assert not stats.connected
        assert "unreachable" in (stats.last_error or "")
        # Ingest: publishing many more never waits for the dead target; overflow is counted.
        before = bus.published
        for _ in range(500):
            bus.publish(update())
        assert bus.published == before + 500
        wait_until(lambda: sink.stats().dropped >= 500 - 5, 10)
    finally:
        sink.stop()
    assert sink.stats().dropped == 501  # everything, since nothing was ever delivered


def test_slow_target_times_out(target: Target, bus: EventBus) -> None:
    target.delay = 1.5
    sink = hook(target.url, timeout=0.3, retries=1, backoff=0.05).start(bus)
    try:
        bus.publish(update())
        wait_until(lambda: sink.stats().dropped == 1, 15)
        stats = sink.stats()
        assert stats.errors == 2 and stats.sent == 0
        assert stats.last_error == "no answer within 0.3 s"
    finally:
        sink.stop()


def test_stop_does_not_wait_out_the_backoff(dead_port: int, bus: EventBus) -> None:
    url = f"http://127.0.0.1:{dead_port}/hook"
    sink = hook(url, retries=5, backoff=300).start(bus)
    bus.publish(update())
    wait_until(lambda: sink.attempts >= 1, 10)
    sink.stop()  # gives its thread 5 s to finish the event in hand
    # The event is given up (dropped) only once the backoff wait ends: counted here, it
    # ended at the stop, not 300 s later.
    assert sink.stats().dropped == 1
    assert sink.attempts == 1


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/x", "must start with http:// or https://"),
        ("example.com/hook", "must start with http:// or https://"),
        ("http:///hook", "no host name"),
        ("http://example.com:99999/", "bad webhook URL"),
        ("http://exa mple.com/", "white space"),
    ],
)
def test_bad_url_is_a_config_error(url: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        WebhookSettings(url=url)


def test_bad_header_is_a_config_error() -> None:
    with pytest.raises(ValidationError, match="line break"):
        WebhookSettings(url="http://x/", headers={"X-A": "a\r\nInjected: 1"})
