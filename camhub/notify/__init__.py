"""Notifications: sinks that tell other systems what the hub noticed (MQTT, webhooks).

Each sink subscribes to the hub's :class:`~camhub.bus.EventBus` with its own bounded
queue and thread; see :mod:`camhub.notify.base` for the lifecycle.
"""

from camhub.notify.base import Sink, SinkStats, UnknownSink, register, sink_class, sink_types
from camhub.notify.mqtt import MqttSink
from camhub.notify.settings import (
    MqttSettings,
    NotifySettingsError,
    WebhookSettings,
    parse_broker,
)
from camhub.notify.webhook import WebhookSink

__all__ = [
    "MqttSettings",
    "MqttSink",
    "NotifySettingsError",
    "Sink",
    "SinkStats",
    "UnknownSink",
    "WebhookSettings",
    "WebhookSink",
    "parse_broker",
    "register",
    "sink_class",
    "sink_types",
]
