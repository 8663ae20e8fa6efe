"""Home Assistant MQTT discovery: retained config messages under
``<discovery_prefix>/<component>/<node>/<object>/config`` that make each camera appear in
Home Assistant without hand-written YAML.

Per camera: a ``binary_sensor`` (connectivity) fed by ``<prefix>/<camera>/status``.
Per camera and label (``motion``, ``person``...), once the label is first seen: a
``sensor`` with the count of active events (``<prefix>/<camera>/<label>``) and a
``camera`` entity showing the label's latest snapshot (``<prefix>/<camera>/<label>/snapshot``).
Every entity is unavailable while ``<prefix>/available`` says ``offline``.

An empty retained message on a config topic removes the entity
(:func:`removal_topics` lists them).
"""

from __future__ import annotations

import json
import re

from camhub.notify.payload import topic_part
from camhub.notify.settings import MqttSettings

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def object_id(*parts: str) -> str:
    """Discovery ids allow only ``[A-Za-z0-9_-]``."""
    return _ID_UNSAFE.sub("_", "_".join(parts)).strip("_") or "camera"


class Discovery:
    """Builds the config messages for one broker connection's settings."""

    def __init__(self, settings: MqttSettings) -> None:
        self.settings = settings
        self.prefix = settings.prefix
        self.node = object_id(settings.prefix)

    def _topic(self, component: str, obj: str) -> str:
        return f"{self.settings.discovery_prefix}/{component}/{self.node}/{obj}/config"

    def _device(self, camera: str) -> dict[str, object]:
        device: dict[str, object] = {
            "identifiers": [object_id(self.node, camera)],
            "name": camera,
            "manufacturer": "camhub",
            "model": "camhub camera",
        }
        if self.settings.base_url:
            from urllib.parse import quote

            device["configuration_url"] = (
                f"{self.settings.base_url}/camera?name={quote(camera, safe='')}"
            )
        return device

    def _base(self, component: str, camera: str, obj: str, name: str) -> dict[str, object]:
        # default_entity_id replaced object_id (deprecated in HA 2025.10, gone in 2026.4).
        return {
            "name": name,
            "unique_id": obj,
            "default_entity_id": f"{component}.{obj}",
            "device": self._device(camera),
            "availability": [{"topic": f"{self.prefix}/available"}],
            "origin": {"name": "camhub"},
        }

    def camera_configs(self, camera: str) -> list[tuple[str, bytes]]:
        obj = object_id(self.node, camera, "online")
        config = self._base("binary_sensor", camera, obj, "Online")
        config.update(
            state_topic=f"{self.prefix}/{topic_part(camera)}/status",
            payload_on="online",
            payload_off="offline",
            device_class="connectivity",
        )
        return [(self._topic("binary_sensor", obj), _encode(config))]

    def label_configs(self, camera: str, label: str) -> list[tuple[str, bytes]]:
        base_topic = f"{self.prefix}/{topic_part(camera)}/{topic_part(label)}"
        count_obj = object_id(self.node, camera, label, "count")
        count = self._base("sensor", camera, count_obj, f"{label.capitalize()} count")
        count.update(state_topic=base_topic, state_class="measurement", icon="mdi:counter")
        snap_obj = object_id(self.node, camera, label, "snapshot")
        snap = self._base("camera", camera, snap_obj, f"{label.capitalize()} snapshot")
        snap.update(topic=f"{base_topic}/snapshot")
        return [
            (self._topic("sensor", count_obj), _encode(count)),
            (self._topic("camera", snap_obj), _encode(snap)),
        ]

    def removal_topics(self, camera: str, labels: list[str]) -> list[str]:
        """Publish an empty retained payload to each of these to remove the entities."""
        topics = [t for t, _ in self.camera_configs(camera)]
        for label in labels:
            topics += [t for t, _ in self.label_configs(camera, label)]
        return topics


def _encode(config: dict[str, object]) -> bytes:
    return json.dumps(config, separators=(",", ":"), sort_keys=True).encode()
