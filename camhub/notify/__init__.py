"""Notifications: sinks that tell other systems what the hub noticed (MQTT, webhooks).

Each sink subscribes to the hub's :class:`~camhub.bus.EventBus` with its own bounded
queue and thread; see :mod:`camhub.notify.base` for the lifecycle. The sink classes load
on first use (PEP 562): ``import camhub.notify`` does not import paho. Reading a config
file does, since the registered sinks' classes name their config sections.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from camhub.notify.base import Sink, SinkStats, UnknownSink, register, sink_class, sink_types
from camhub.notify.settings import (
    MqttSettings,
    NotifySettingsError,
    WebhookSettings,
    parse_broker,
)

if TYPE_CHECKING:
    from camhub.notify.mqtt import MqttSink
    from camhub.notify.webhook import WebhookSink

_LAZY = {"MqttSink": "camhub.notify.mqtt", "WebhookSink": "camhub.notify.webhook"}

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


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'camhub.notify' has no attribute {name!r}")
