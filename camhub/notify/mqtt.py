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
``<prefix>/<camera>/<label>``          yes       number of active events of that label
``<prefix>/<camera>/<label>/snapshot`` yes       JPEG of the event's best snapshot
``<prefix>/<camera>/status``           yes       ``online`` / ``offline``
=====================================  ========  ==========================================

The paho network thread connects and reconnects by itself (exponential backoff up to
``retry_max``); the sink's own bus thread waits while the broker is away, so messages
queue in the bounded bus subscription (oldest dropped and counted). On every (re)connect
the sink republishes ``available``, camera states, counts and discovery configs, since a
restarted broker may have lost its retained messages.
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

from camhub.events.model import EventUpdate
from camhub.notify.base import Sink, register
from camhub.notify.homeassistant import Discovery
from camhub.notify.payload import topic_part, update_bytes
from camhub.notify.settings import MqttSettings, NotifySettingsError
from camhub.types import ArgumentTypeError, HubEvent

log = logging.getLogger("camhub.notify.mqtt")

Key = tuple[str, str]
"""``(camera, label)``"""


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
        self._active: dict[Key, set[str]] = {}
        self._snapshots: dict[Key, bytes] = {}
        self._status: dict[str, str] = {}
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

    # -- messages --------------------------------------------------------------------

    def _state_messages(self) -> list[tuple[str, bytes, bool]]:
        """What a (re)connected broker must know: availability, states, counts, configs."""
        out: list[tuple[str, bytes, bool]] = [(f"{self.prefix}/available", b"online", True)]
        with self._state:
            status = dict(self._status)
            counts = {key: len(ids) for key, ids in self._active.items()}
            snapshots = dict(self._snapshots)
        cameras = set(status) | {cam for cam, _ in counts}
        if self.discovery is not None:
            for cam in sorted(cameras):
                out += [(t, p, True) for t, p in self.discovery.camera_configs(cam)]
            for cam, label in sorted(counts):
                out += [(t, p, True) for t, p in self.discovery.label_configs(cam, label)]
        for cam, state in status.items():
            out.append((self._camera_topic(cam, "status"), state.encode(), True))
        for (cam, label), n in counts.items():
            out.append((self._label_topic(cam, label), str(n).encode(), True))
        for (cam, label), jpeg in snapshots.items():
            out.append((self._label_topic(cam, label) + "/snapshot", jpeg, True))
        return out

    def _camera_topic(self, camera: str, leaf: str) -> str:
        return f"{self.prefix}/{topic_part(camera)}/{leaf}"

    def _label_topic(self, camera: str, label: str) -> str:
        return f"{self.prefix}/{topic_part(camera)}/{topic_part(label)}"

    def messages_for(self, message: object) -> list[tuple[str, bytes, bool]]:
        """Update the sink's state with ``message``; return ``(topic, payload, retain)``s."""
        if isinstance(message, EventUpdate):
            return self._event_messages(message)
        if isinstance(message, HubEvent):
            return self._hub_messages(message)
        return []

    def _hub_messages(self, event: HubEvent) -> list[tuple[str, bytes, bool]]:
        if event.camera is None or event.kind == "malformed":
            return []
        state = "offline" if event.kind == "camera_offline" else "online"
        with self._state:
            new_camera = event.camera not in self._status and not any(
                cam == event.camera for cam, _ in self._active
            )
            if self._status.get(event.camera) == state:
                return []
            self._status[event.camera] = state
        out: list[tuple[str, bytes, bool]] = []
        if new_camera and self.discovery is not None:
            out += [(t, p, True) for t, p in self.discovery.camera_configs(event.camera)]
        out.append((self._camera_topic(event.camera, "status"), state.encode(), True))
        return out

    def _event_messages(self, update: EventUpdate) -> list[tuple[str, bytes, bool]]:
        ev = update.after
        key = (ev.camera, ev.label)
        out: list[tuple[str, bytes, bool]] = []
        with self._state:
            new_camera = ev.camera not in self._status and not any(
                cam == ev.camera for cam, _ in self._active
            )
            new_label = key not in self._active
            ids = self._active.setdefault(key, set())
            before = len(ids)
            if update.before is not None and update.before.label != ev.label:
                old = self._active.get((ev.camera, update.before.label))
                if old is not None and ev.id in old:
                    old.discard(ev.id)
                    out.append(
                        (
                            self._label_topic(ev.camera, update.before.label),
                            str(len(old)).encode(),
                            True,
                        )
                    )
            if update.type == "end" or ev.end is not None:
                ids.discard(ev.id)
            else:
                ids.add(ev.id)
            count = len(ids)
            snapshot = ev.snapshot if ev.snapshot != self._snapshots.get(key) else None
            if snapshot is not None:
                self._snapshots[key] = snapshot
        if self.discovery is not None:
            if new_camera:
                out += [(t, p, True) for t, p in self.discovery.camera_configs(ev.camera)]
            if new_label:
                out += [(t, p, True) for t, p in self.discovery.label_configs(ev.camera, ev.label)]
        out.append((f"{self.prefix}/events", update_bytes(update), False))
        if count != before or new_label:
            out.append((self._label_topic(ev.camera, ev.label), str(count).encode(), True))
        if snapshot is not None:
            out.append((self._label_topic(ev.camera, ev.label) + "/snapshot", snapshot, True))
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
            cameras = set(self._status) | {cam for cam, _ in self._active}
            labels = {cam: [lab for c, lab in self._active if c == cam] for cam in cameras}
        infos = [
            client.publish(topic, b"", qos=1, retain=True)
            for cam in sorted(cameras)
            for topic in self.discovery.removal_topics(cam, labels[cam])
        ]
        for info in infos:
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError):
                pass
        return len(infos)
