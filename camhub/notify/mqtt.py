"""MQTT sink: Frigate-style topics on any broker, with paho-mqtt's threaded client.

Topics (``<prefix>`` defaults to ``camhub``):

=====================================  ========  ==========================================
topic                                  retained  payload
=====================================  ========  ==========================================
``<prefix>/available``                 yes       ``online`` on connect; ``offline`` on a clean
                                                 stop, or from the broker (last will) when the
                                                 hub dies
``<prefix>/events``                    no        JSON ``{"type", "before", "after"}`` per
                                                 :class:`~camhub.events.model.EventUpdate`
                                                 (its shared :attr:`~EventUpdate.json`)
``<prefix>/<camera>/<label>``          yes       number of active events of that label
                                                 (the event manager's
                                                 :class:`~camhub.events.model.ActiveCount`)
``<prefix>/<camera>/<label>/snapshot`` yes       JPEG of the event's best snapshot
``<prefix>/<camera>/status``           yes       ``online`` / ``offline``
=====================================  ========  ==========================================

The paho network thread connects and reconnects by itself (exponential backoff up to
``retry_max``); the sink's own bus thread waits while the broker is away, so messages
queue in the bounded bus subscription (oldest dropped and counted). On every (re)connect
the sink republishes ``available``, camera states, counts and discovery configs, since a
restarted broker may have lost its retained messages.

The sink owns the retained state under its prefix. On every connect it also reads back
what the broker retains there (``<prefix>/+/+``): a count or a camera status left by an
earlier run that is no longer true (a camera that never came back, an event a killed hub
never ended) is corrected to what this hub knows (``offline``, ``0``).

The sink keeps no event lifecycle: it maps each bus message to topics. Hub event kinds are
mapped explicitly; a kind it has no mapping for is logged once and skipped.
"""

from __future__ import annotations

import logging
import os
import socket
import ssl
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode
from pydantic import BaseModel

from camhub.events.model import ActiveCount, EventUpdate
from camhub.notify.base import Sink, register
from camhub.notify.homeassistant import Discovery
from camhub.notify.payload import topic_part
from camhub.notify.settings import MqttSettings, NotifySettingsError
from camhub.types import ArgumentTypeError, HubEvent

log = logging.getLogger("camhub.notify.mqtt")

Key = tuple[str, str]
"""``(camera, label)``"""
Message = tuple[str, bytes, bool]
"""``(topic, payload, retain)``"""

_STATUS: dict[str, str | None] = {
    "camera_new": "online",
    "camera_online": "online",
    "camera_offline": "offline",
    "malformed": None,  # about a peer, not a camera's state
}
"""What each hub event kind means for ``<prefix>/<camera>/status`` (``None``: nothing)."""


def _clock(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at))


class _TrackingContext(ssl.SSLContext):
    """paho leaves the TLS socket of a failed handshake open (until the garbage collector
    finds it); remembering the last one lets the sink close it when the attempt fails."""

    last: ssl.SSLSocket | None = None

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        sock = super().wrap_socket(*args, **kwargs)
        self.last = sock
        return sock

    def close_failed(self, current: object) -> None:
        sock, self.last = self.last, None
        if sock is not None and sock is not current:
            sock.close()


@register
class MqttSink(Sink):
    """Publishes events, counts, snapshots and camera states to one broker."""

    type_name = "mqtt"
    config = MqttSettings

    def __init__(self, settings: MqttSettings, *, name: str = "mqtt") -> None:
        super().__init__(name, queue_size=settings.queue_size)
        self.settings = settings
        self.prefix = settings.prefix
        self.client_id = settings.client_id or (
            f"camhub-{socket.gethostname()[:40]}-{os.urandom(3).hex()}"
        )
        self.discovery = Discovery(settings) if settings.discovery else None
        self.connects = 0
        """Successful connections so far (1 after the first, +1 per reconnect)."""
        self.down_since: float | None = None
        self._client: mqtt.Client | None = None
        self._connected = threading.Event()
        self._state = threading.Lock()
        self._retained: dict[str, bytes] = {}
        """Every retained state topic this sink published, with its latest payload: what a
        (re)connect republishes, and the truth a stale retained message is corrected to."""
        self._cameras: set[str] = set()
        self._labels: set[Key] = set()
        self._unknown_kinds: set[str] = set()
        self.corrected = 0
        """Retained messages left by an earlier run that the sink corrected."""
        self._next_delay: float | None = None
        self._tls: _TrackingContext | None = None

    # -- lifecycle -------------------------------------------------------------------

    @classmethod
    def from_settings(cls, settings: BaseModel) -> Sink:
        if not isinstance(settings, MqttSettings):
            raise ArgumentTypeError(
                f"{cls.__name__} needs MqttSettings, not {type(settings).__name__}"
            )
        return cls(settings)

    @property
    def target(self) -> str:
        return self.settings.address

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def _make_client(self) -> mqtt.Client:
        s = self.settings
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv311,
            clean_session=True,
        )
        # No paho logger: between reconnect attempts it logs "Client is not connected" at
        # ERROR level; the sink logs connection changes itself, once each.
        client.connect_timeout = 5.0
        client.reconnect_delay_set(1, max(1, int(s.retry_max)))
        # Bounds paho's own queue of QoS>0 messages; what does not fit is counted dropped.
        client.max_queued_messages_set(s.queue_size)
        client.will_set(f"{self.prefix}/available", "offline", qos=1, retain=True)
        if s.username is not None:
            client.username_pw_set(s.username, s.password)
        if s.use_tls:
            context = self._tls = _TrackingContext(ssl.PROTOCOL_TLS_CLIENT)
            if s.insecure:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            elif s.ca_file is not None:
                try:
                    context.load_verify_locations(cafile=s.ca_file)
                except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
                    why = getattr(exc, "strerror", None) or exc
                    raise NotifySettingsError(
                        f"cannot use MQTT ca_file {s.ca_file!r}: {why}"
                    ) from None
            else:
                context.load_default_certs()
            client.tls_set_context(context)
            client.tls_insecure_set(s.insecure)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def open(self) -> None:
        client = self._client = self._make_client()
        self.down_since = time.time()
        client.connect_async(self.settings.host, self.settings.port, self.settings.keepalive)
        client.loop_start()  # paho's thread connects, reconnects and does all socket I/O

    def close(self) -> None:
        client = self._client
        if client is None:
            return
        if self._connected.is_set():
            # A clean stop says so itself; the last will covers only a dying hub.
            info = client.publish(f"{self.prefix}/available", "offline", qos=1, retain=True)
            try:
                info.wait_for_publish(timeout=2.0)
            except (RuntimeError, ValueError):
                pass
        if client.is_connected():
            client.disconnect()
        client.loop_stop()
        self._connected.clear()
        self._client = None

    # -- paho callbacks (on paho's network thread) -------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: object,
    ) -> None:
        if reason.is_failure:
            self._error(f"broker {self.target} refused the connection: {reason}")
            log.warning("MQTT broker %s refused the connection: %s", self.target, reason)
            return
        self.connects += 1
        if self.down_since is not None and self.connects > 1:
            log.info(
                "MQTT broker %s reachable again after %.0f s",
                self.target,
                time.time() - self.down_since,
            )
        else:
            log.info("MQTT connected to %s as %s", self.target, self.client_id)
        self.down_since = None
        self._next_delay = None
        for topic, payload, retain in self._state_messages():
            client.publish(topic, payload, qos=self.settings.qos, retain=retain)
        # After the republish: what the broker hands back retained is then either ours
        # or left by an earlier run (see _on_message).
        client.subscribe(f"{self.prefix}/+/+", qos=1)
        self._connected.set()

    def _on_connect_fail(self, client: mqtt.Client, userdata: object) -> None:
        if self._tls is not None:
            self._tls.close_failed(client.socket())
        self._error(f"broker {self.target} unreachable")
        self._log_retry()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: object,
    ) -> None:
        was_connected = self._connected.is_set()
        self._connected.clear()
        if self.stopping:
            return
        if was_connected:
            self.down_since = time.time()
            why = "" if str(reason) == "Unspecified error" else f": {reason}"
            self._error(f"connection to {self.target} lost{why}")
        self._log_retry()

    def _log_retry(self) -> None:
        # Mirrors paho's backoff (reconnect_delay_set): min 1 s, doubling, capped.
        cap = max(1, int(self.settings.retry_max))
        self._next_delay = 1 if self._next_delay is None else min(self._next_delay * 2, cap)
        since = _clock(self.down_since or time.time())
        log.warning(
            "MQTT broker %s unreachable since %s, retrying in %.0f s",
            self.target,
            since,
            self._next_delay,
        )

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        """A retained status or count under the prefix, handed over on subscribing: if it
        is not what this hub knows, publish the truth (the hub owns these topics)."""
        if not msg.retain:
            return  # live copies of what the sink itself publishes
        topic = msg.topic
        default = b"offline" if topic.endswith("/status") else b"0"
        with self._state:  # held while publishing: the sink thread cannot interleave
            truth = self._retained.get(topic, default)
            if bytes(msg.payload) == truth:
                return
            client.publish(topic, truth, qos=self.settings.qos, retain=True)
            self.corrected += 1
        self._sent()
        log.info(
            "MQTT: retained %s said %r (left by an earlier run); corrected to %r",
            topic,
            bytes(msg.payload[:32]).decode(errors="replace"),
            truth.decode(),
        )

    # -- messages --------------------------------------------------------------------

    def _state_messages(self) -> list[Message]:
        """What a (re)connected broker must know: availability, states, counts, configs."""
        with self._state:
            state = list(self._retained.items())
        return [(f"{self.prefix}/available", b"online", True)] + [(t, p, True) for t, p in state]

    def _camera_topic(self, camera: str, leaf: str) -> str:
        return f"{self.prefix}/{topic_part(camera)}/{leaf}"

    def _label_topic(self, camera: str, label: str) -> str:
        return f"{self.prefix}/{topic_part(camera)}/{topic_part(label)}"

    def messages_for(self, message: object) -> list[Message]:
        """Map one bus message to ``(topic, payload, retain)``s (remembering the retained
        ones, to republish on reconnect)."""
        if isinstance(message, EventUpdate):
            return self._event_messages(message)
        if isinstance(message, ActiveCount):
            return self._count_messages(message)
        if isinstance(message, HubEvent):
            return self._hub_messages(message)
        return []

    def _retain(self, topic: str, payload: bytes) -> list[Message]:
        """A retained state message, if it changes what the broker holds (under _state)."""
        if self._retained.get(topic) == payload:
            return []
        self._retained[topic] = payload
        return [(topic, payload, True)]

    def _announce(self, camera: str, label: str | None = None) -> list[Message]:
        """Home Assistant discovery configs for a camera (and label) not seen before."""
        out: list[Message] = []
        if camera not in self._cameras:
            self._cameras.add(camera)
            if self.discovery is not None:
                for t, p in self.discovery.camera_configs(camera):
                    out += self._retain(t, p)
        if label is not None and (camera, label) not in self._labels:
            self._labels.add((camera, label))
            if self.discovery is not None:
                for t, p in self.discovery.label_configs(camera, label):
                    out += self._retain(t, p)
        return out

    def _hub_messages(self, event: HubEvent) -> list[Message]:
        if event.kind not in _STATUS:
            if event.kind not in self._unknown_kinds:
                self._unknown_kinds.add(event.kind)
                log.warning("MQTT sink %s: no topic for hub event kind %r; skipped", self.name,
                            event.kind)  # fmt: skip
            return []
        state = _STATUS[event.kind]
        if state is None or event.camera is None:
            return []
        with self._state:
            out = self._announce(event.camera)
            return out + self._retain(self._camera_topic(event.camera, "status"), state.encode())

    def _count_messages(self, count: ActiveCount) -> list[Message]:
        with self._state:
            out = self._announce(count.camera, count.label)
            topic = self._label_topic(count.camera, count.label)
            return out + self._retain(topic, str(count.active).encode())

    def _event_messages(self, update: EventUpdate) -> list[Message]:
        ev = update.after
        with self._state:
            out = self._announce(ev.camera, ev.label)
            out.append((f"{self.prefix}/events", update.json, False))
            if ev.snapshot:
                out += self._retain(self._label_topic(ev.camera, ev.label) + "/snapshot",
                                    ev.snapshot)  # fmt: skip
        return out

    def add(self, message: object) -> None:
        for topic, payload, retain in self.messages_for(message):
            if not self._publish(topic, payload, retain):
                self._drop()  # counted once per bus message, like the queue's drops
                return

    def _publish(self, topic: str, payload: bytes, retain: bool) -> bool:
        """Publish once connected; while the broker is away, wait (the bus queue absorbs
        and counts the overflow) until it is back or the sink stops."""
        while not self.stopping:
            client = self._client
            if client is None or not self._connected.wait(0.25):
                continue
            info = client.publish(topic, payload, qos=self.settings.qos, retain=retain)
            if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
                self._sent()
                return True
            if info.rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
                self._error("paho's outgoing queue is full")
                return False
            time.sleep(0.05)  # NO_CONN: the connection just dropped; paho reconnects
        return False

    def remove_discovery(self, timeout: float = 5.0) -> int:
        """Remove every Home Assistant entity this sink announced (empty retained configs).
        Returns how many config topics were cleared."""
        client = self._client
        if self.discovery is None or client is None or not self._connected.wait(timeout):
            return 0
        with self._state:
            topics = [
                topic
                for cam in sorted(self._cameras)
                for topic in self.discovery.removal_topics(
                    cam, sorted(lab for c, lab in self._labels if c == cam)
                )
            ]
            for topic in topics:  # a reconnect must not announce them again
                self._retained.pop(topic, None)
        infos = [client.publish(topic, b"", qos=1, retain=True) for topic in topics]
        for info in infos:
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError):
                pass
        return len(infos)
