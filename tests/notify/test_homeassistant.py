"""Home Assistant MQTT discovery, read back from a real broker by a real subscriber."""

from __future__ import annotations

import json
import time

from camhub.bus import EventBus
from camhub.events.model import Event, EventUpdate
from camhub.notify import MqttSettings, MqttSink
from camhub.types import HubEvent
from tests.conftest import wait_until
from tests.servers.mosquitto import Broker, Subscriber


def test_discovery_configs_and_removal(broker: Broker, bus: EventBus, jpeg: bytes) -> None:
    ha = Subscriber(broker, "homeassistant/#").wait_ready()
    sink = MqttSink(
        MqttSettings(
            host=broker.host,
            port=broker.port,
            discovery=True,
            base_url="http://hub.local:8000/",
        )
    ).start(bus)
    try:
        wait_until(lambda: sink.connected, 10)
        bus.publish(HubEvent("camera_new", "front.door", time.time()))
        ev = Event(camera="front.door", label="person", start=time.time(), snapshot=jpeg)
        bus.publish(EventUpdate("new", ev))

        online = json.loads(
            ha.wait_for(
                "homeassistant/binary_sensor/camhub/camhub_front_door_online/config"
            ).payload
        )
        assert online["state_topic"] == "camhub/front.door/status"
        assert (online["payload_on"], online["payload_off"]) == ("online", "offline")
        assert online["device_class"] == "connectivity"
        assert online["availability"] == [{"topic": "camhub/available"}]
        assert online["device"]["name"] == "front.door"
        assert (
            online["device"]["configuration_url"] == "http://hub.local:8000/camera?name=front.door"
        )

        count = json.loads(
            ha.wait_for("homeassistant/sensor/camhub/camhub_front_door_person_count/config").payload
        )
        assert count["state_topic"] == "camhub/front.door/person"
        assert count["state_class"] == "measurement"
        camera = json.loads(
            ha.wait_for(
                "homeassistant/camera/camhub/camhub_front_door_person_snapshot/config"
            ).payload
        )
        assert camera["topic"] == "camhub/front.door/person/snapshot"
        # All entities of a camera share one device.
        assert online["device"]["identifiers"] == camera["device"]["identifiers"]
        assert len({online["unique_id"], count["unique_id"], camera["unique_id"]}) == 3
        assert camera["default_entity_id"] == "camera.camhub_front_door_person_snapshot"
        assert online["default_entity_id"] == "binary_sensor.camhub_front_door_online"

        # Retained: Home Assistant started later still discovers them.
        later = Subscriber(broker, "homeassistant/#").wait_ready()
        assert later.wait_for(
            "homeassistant/camera/camhub/camhub_front_door_person_snapshot/config"
        ).retain
        later.close()

        assert sink.flush()
        assert sink.remove_discovery() == 3
        for topic in (
            "homeassistant/binary_sensor/camhub/camhub_front_door_online/config",
            "homeassistant/sensor/camhub/camhub_front_door_person_count/config",
            "homeassistant/camera/camhub/camhub_front_door_person_snapshot/config",
        ):
            assert ha.wait_for(topic, lambda m: m.payload == b"").payload == b""
        gone = Subscriber(broker, "homeassistant/#").wait_ready()
        time.sleep(0.5)  # retained messages arrive right after subscribing, if any
        assert gone.messages == []
        gone.close()
    finally:
        sink.stop()
        ha.close()


def test_no_discovery_unless_asked(broker: Broker, bus: EventBus) -> None:
    ha = Subscriber(broker, "homeassistant/#").wait_ready()
    sink = MqttSink(MqttSettings(host=broker.host, port=broker.port)).start(bus)
    try:
        bus.publish(HubEvent("camera_new", "door", time.time()))
        wait_until(lambda: sink.stats().sent >= 1, 10)
        assert sink.flush()
        time.sleep(0.3)
        assert ha.messages == []
    finally:
        sink.stop()
        ha.close()
