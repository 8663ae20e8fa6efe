"""Notification settings: pure validation, clear messages."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from camhub.config import ConfigError, Overlay, parse_config
from camhub.notify import (
    MqttSettings,
    NotifySettingsError,
    WebhookSettings,
    parse_broker,
    sink_class,
    sink_types,
)
from camhub.notify.base import UnknownSink
from camhub.notify.setup import build_sinks


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("broker", ("broker", 1883)),
        ("10.0.0.2:8883", ("10.0.0.2", 8883)),
        ("[::1]:1884", ("::1", 1884)),
        ("[::1]", ("::1", 1883)),
        ("::1", ("::1", 1883)),
    ],
)
def test_parse_broker(text: str, expected: tuple[str, int]) -> None:
    assert parse_broker(text) == expected


@pytest.mark.parametrize("text", ["", "host:", "host:0", "host:70000", ":1883", "[::1]x"])
def test_parse_broker_rejects(text: str) -> None:
    with pytest.raises(NotifySettingsError, match="bad MQTT broker"):
        parse_broker(text)


def test_mqtt_defaults_and_address() -> None:
    s = MqttSettings(host="::1")
    assert (s.port, s.prefix, s.qos, s.use_tls, s.discovery) == (1883, "camhub", 0, False, False)
    assert s.address == "[::1]:1883"
    assert MqttSettings(host="h", ca_file="/ca.pem").use_tls


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"host": "h", "prefix": "cams/"}, "leading/trailing"),
        ({"host": "h", "prefix": "a/+/b"}, "without '#', '\\+'"),
        ({"host": "h", "password": "x"}, "password is set but username is not"),
        ({"host": "mqtt://h"}, "bad broker host"),
        ({"host": "h", "qos": 3}, "qos"),
        ({"host": "h", "base_url": "hub.local"}, "bad base_url"),
        ({"host": "h", "colour": "red"}, "Extra inputs"),
    ],
)
def test_mqtt_settings_errors(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        MqttSettings.model_validate(data)


def test_command_line_over_config() -> None:
    # camhub hub --mqtt b:2000 --mqtt-prefix home/cams --ha-discovery --webhook URL
    text = '[mqtt]\nhost = "a"\nport = 1000\nqos = 1\nusername = "u"\npassword = "p"\n'
    overlay = (
        Overlay()
        .set(("mqtt", "host"), "b", "--mqtt")
        .set(("mqtt", "port"), 2000, "--mqtt")
        .set(("mqtt", "prefix"), "home/cams", "--mqtt-prefix")
        .set(("mqtt", "discovery"), True, "--ha-discovery")
    )
    merged = parse_config(text, "hub.toml", overlay).mqtt
    assert merged is not None
    assert (merged.host, merged.port, merged.qos, merged.username) == ("b", 2000, 1, "u")
    assert merged.password == "p" and merged.prefix == "home/cams" and merged.discovery
    assert parse_config("", "hub.toml").mqtt is None
    assert parse_config(text, "hub.toml").mqtt == MqttSettings(
        host="a", port=1000, qos=1, username="u", password="p"
    )
    with pytest.raises(ConfigError, match="need --mqtt"):
        parse_config("", "hub.toml", Overlay().requires(("mqtt",), "--ha-discovery need --mqtt"))


def test_webhooks_and_registry() -> None:
    overlay = Overlay().append(("webhooks",), {"url": "https://a.example/y"}, "--webhook")
    config = parse_config('[[webhooks]]\nurl = "http://a.example/x"\n', "h.toml", overlay)
    sinks = build_sinks([MqttSettings(host="h"), *config.webhooks])
    assert [s.type_name for s in sinks] == ["mqtt", "webhook", "webhook"]
    assert len({s.name for s in sinks}) == 3  # two hooks on one host keep apart
    assert sink_types() == ["mqtt", "webhook"]
    with pytest.raises(UnknownSink, match="known: mqtt, webhook"):
        sink_class("sms")
    with pytest.raises(TypeError, match="needs MqttSettings"):
        sink_class("mqtt").from_settings(WebhookSettings(url="http://x/"))
