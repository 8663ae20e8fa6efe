"""MQTT over TLS (a throw-away CA made with openssl) and with a password file, against a
real mosquitto: the right settings connect, the wrong ones give a clear, counted error
and keep retrying without blocking."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from camhub.bus import EventBus
from camhub.events.model import Event, EventUpdate
from camhub.notify import MqttSettings, MqttSink, NotifySettingsError
from tests.conftest import MOSQUITTO, wait_until
from tests.servers.mosquitto import (
    Broker,
    Subscriber,
    make_certificates,
    password_config,
    tls_config,
)

pytestmark = pytest.mark.timeout(120)


def _publish_and_expect(broker: Broker, sink: MqttSink, bus: EventBus, **tls: object) -> None:
    sub = Subscriber(broker, "camhub/#", **tls).wait_ready()
    try:
        ev = Event(camera="door", label="motion", start=time.time())
        bus.publish(EventUpdate("new", ev))
        msg = sub.wait_for("camhub/events")
        assert ev.id in msg.payload.decode()
    finally:
        sub.close()


@MOSQUITTO
def test_tls_with_ca_file(tmp_path: Path, bus: EventBus) -> None:
    certs = make_certificates(tmp_path)
    broker = Broker(tmp_path, extra=tls_config(certs)).start()
    try:
        sink = MqttSink(
            MqttSettings(host="127.0.0.1", port=broker.port, ca_file=str(certs["ca"]))
        ).start(bus)
        try:
            wait_until(lambda: sink.connected, 15)
            _publish_and_expect(broker, sink, bus, ca_certs=str(certs["ca"]))
        finally:
            sink.stop()
    finally:
        broker.stop()


@MOSQUITTO
def test_tls_unknown_ca_is_refused_then_insecure_connects(tmp_path: Path, bus: EventBus) -> None:
    certs = make_certificates(tmp_path)
    broker = Broker(tmp_path, extra=tls_config(certs)).start()
    try:
        # The system CAs do not know the test CA: a clear error, no connection.
        strict = MqttSink(MqttSettings(host="127.0.0.1", port=broker.port, tls=True))
        strict.start(bus)
        try:
            wait_until(lambda: strict.stats().errors >= 1, 15)
            assert not strict.connected
            assert "unreachable" in (strict.stats().last_error or "")
        finally:
            strict.stop()
        loose = MqttSink(MqttSettings(host="127.0.0.1", port=broker.port, insecure=True))
        loose.start(bus)
        try:
            wait_until(lambda: loose.connected, 15)
        finally:
            loose.stop()
    finally:
        broker.stop()


@MOSQUITTO
def test_password_right_and_wrong(tmp_path: Path, bus: EventBus) -> None:
    broker = Broker(tmp_path, extra=password_config(tmp_path, "hub", "s3cret"), anonymous=False)
    broker.credentials = ("hub", "s3cret")
    broker.start()
    try:
        wrong = MqttSink(
            MqttSettings(host=broker.host, port=broker.port, username="hub", password="nope")
        ).start(bus)
        try:
            wait_until(lambda: wrong.stats().errors >= 1, 15)
            assert not wrong.connected
            assert "refused the connection" in (wrong.stats().last_error or "")
        finally:
            wrong.stop()
        right = MqttSink(
            MqttSettings(host=broker.host, port=broker.port, username="hub", password="s3cret")
        ).start(bus)
        try:
            wait_until(lambda: right.connected, 15)
            _publish_and_expect(broker, right, bus)
        finally:
            right.stop()
    finally:
        broker.stop()


@pytest.mark.parametrize("content", [None, "not a certificate\n"])
def test_bad_ca_file_is_a_clear_start_error(
    tmp_path: Path, bus: EventBus, content: str | None
) -> None:
    path = tmp_path / "ca.pem"
    if content is not None:
        path.write_text(content)
    sink = MqttSink(MqttSettings(host="127.0.0.1", ca_file=str(path)))
    with pytest.raises(NotifySettingsError, match=f"cannot use MQTT ca_file '{path}'"):
        sink.start(bus)
