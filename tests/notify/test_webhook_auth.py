"""A webhook URL with ``user:password@`` delivers, as HTTP basic authentication, to a real
HTTP server; the credentials never show in stats or errors."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator

import pytest

from camhub.bus import EventBus
from camhub.config import ConfigError, parse_config
from camhub.events.model import Event, EventUpdate
from camhub.notify import WebhookSettings, WebhookSink
from camhub.notify.setup import build_sinks
from tests.servers.webhook_target import Target


@pytest.fixture
def target() -> Iterator[Target]:
    t = Target()
    yield t
    t.close()


def test_credentials_in_the_url_are_sent_as_basic_auth(target: Target) -> None:
    # percent-encoded user and password, as a URL has to carry '@' and ':'
    url = target.url.replace("http://", "http://cam%40home:p%3Ass@")
    config = parse_config(f'[[webhooks]]\nurl = "{url}"\n', "hub.toml")
    (hook,) = config.webhooks
    assert hook.url == target.url  # no credentials left in the URL itself
    bus = EventBus()
    (sink,) = build_sinks(config.sinks())
    sink.start(bus)
    try:
        bus.publish(EventUpdate("new", Event(camera="door", label="person", start=time.time())))
        (body,) = target.wait_bodies(1)
        assert json.loads(body)["type"] == "new"
        expected = "Basic " + base64.b64encode(b"cam@home:p:ss").decode()
        assert target.headers[0]["Authorization"] == expected
        assert sink.flush()
        stats = sink.stats()
        assert stats.sent == 1 and "p:ss" not in stats.target and "cam" not in stats.target
    finally:
        sink.stop()
        bus.close()
    assert "p%3Ass" not in repr(hook) and "Basic" not in repr(hook)


def test_credentials_in_two_places_are_refused() -> None:
    with pytest.raises(ConfigError, match="give the credentials in one place") as info:
        parse_config(
            '[[webhooks]]\nurl = "https://u:hunter22@hooks.example/x"\n'
            'headers = { Authorization = "Bearer sekrit-token" }\n',
            "hub.toml",
        )
    assert "hunter22" not in str(info.value) and "sekrit" not in str(info.value)


def test_a_url_without_credentials_is_left_alone() -> None:
    hook = WebhookSettings(url="https://hooks.example/x?token=abc")
    assert hook.url == "https://hooks.example/x?token=abc" and hook.headers == {}
    assert isinstance(WebhookSink.from_settings(hook), WebhookSink)
