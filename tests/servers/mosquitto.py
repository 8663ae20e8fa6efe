"""A real MQTT broker for tests: Debian's ``mosquitto`` on a free port on 127.0.0.1, with
a generated config file (no system service), plus a recording paho subscriber."""

from __future__ import annotations

import getpass
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import psutil
from paho.mqtt.enums import CallbackAPIVersion

from tests.servers.ports import free_port

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


class Broker:
    """``start()``/``stop()`` may be called again: the broker comes back on the same port
    (without persistence, so it forgets retained messages, as a restarted broker may)."""

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        extra: str = "",
        anonymous: bool = True,
        persistent: bool = False,
    ) -> None:
        self.port = port or free_port()
        self._fixed_port = port is not None
        self.host = "127.0.0.1"
        self.workdir = workdir
        self.config = workdir / "mosquitto.conf"
        self.log = workdir / "mosquitto.log"
        self._settings = (extra, anonymous, persistent)
        self._write_config()
        self.proc: subprocess.Popen[bytes] | None = None
        self.credentials: tuple[str, str] | None = None
        """What the test subscriber logs in with, when the broker wants a password."""

    def _write_config(self) -> None:
        extra, anonymous, persistent = self._settings
        # Started as root, mosquitto switches to the "mosquitto" user, who cannot read the
        # test's private temp dir; staying the current user keeps its files readable.
        self.config.write_text(
            f"user {getpass.getuser()}\n"
            f"listener {self.port} 127.0.0.1\n"
            f"allow_anonymous {'true' if anonymous else 'false'}\n"
            + (
                f"persistence true\npersistence_location {self.workdir}/\n"
                if persistent
                else "persistence false\n"
            )
            + f"log_dest file {self.log}\n"
            "log_type error\nlog_type warning\nlog_type notice\n" + extra
        )

    def start(self) -> Broker:
        """Start mosquitto. Its port was only free a moment ago (mosquitto cannot bind
        port 0 and say which it got): if another process took it meanwhile, mosquitto
        exits, and the start is tried again on a new port, up to three times. This
        retries the peer's start, never the test."""
        if not Path(MOSQUITTO).exists():
            raise RuntimeError("mosquitto is not installed: run scripts/setup --dev")
        for _attempt in range(3):
            self.proc = subprocess.Popen(
                [MOSQUITTO, "-c", str(self.config)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            if self._listening(timeout=10):
                return self
            exited = self.proc.poll() is not None
            log = self.log_text()
            self.stop()
            if not exited or self._fixed_port:
                raise RuntimeError(f"mosquitto did not start on port {self.port}: {log}")
            self.port = free_port()
            self._write_config()
        raise RuntimeError(f"mosquitto found no free port: {self.log_text()}")

    def _listening(self, timeout: float) -> bool:
        """True once this mosquitto (not another process) listens on the port; False if
        it exits first or ``timeout`` passes."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                conns = psutil.Process(self.proc.pid).net_connections("tcp")
            except psutil.Error:
                conns = []
            if any(c.status == psutil.CONN_LISTEN and c.laddr.port == self.port for c in conns):
                return True
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        self.proc = None

    def log_text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""


def make_certificates(workdir: Path) -> dict[str, Path]:
    """A throw-away CA and a server certificate for 127.0.0.1 (openssl CLI)."""
    paths = {n: workdir / f"{n}.pem" for n in ("ca", "ca-key", "server", "server-key", "csr")}
    ext = workdir / "san.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=camhub test CA",
        "-keyout",
        str(paths["ca-key"]),
        "-out",
        str(paths["ca"]),
    )
    run(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        str(paths["server-key"]),
        "-out",
        str(paths["csr"]),
    )
    run("x509", "-req", "-in", str(paths["csr"]), "-CA", str(paths["ca"]), "-CAkey",
        str(paths["ca-key"]), "-CAcreateserial", "-days", "2", "-extfile", str(ext),
        "-out", str(paths["server"]))  # fmt: skip
    return paths


def tls_config(certs: dict[str, Path]) -> str:
    return f"cafile {certs['ca']}\ncertfile {certs['server']}\nkeyfile {certs['server-key']}\n"


def password_config(workdir: Path, user: str, password: str) -> str:
    path = workdir / "passwords"
    subprocess.run(
        ["mosquitto_passwd", "-b", "-c", str(path), user, password],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return f"password_file {path}\n"


@dataclass(frozen=True, slots=True)
class Received:
    topic: str
    payload: bytes
    retain: bool
    at: float


class Subscriber:
    """A real paho client that records every message under ``topic`` (``#`` wildcard),
    and subscribes again after a broker restart."""

    def __init__(
        self, broker: Broker, topic: str = "#", persistent: bool = False, **tls: object
    ) -> None:
        """``persistent``: a session the broker keeps (and queues QoS 1 messages for) while
        this subscriber is away, as long as the broker itself persists sessions."""
        self.topic = topic
        self.messages: list[Received] = []
        self._cond = threading.Condition()
        self.subscribed = threading.Event()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"test-sub-{id(self)}",
            clean_session=not persistent,
        )
        self.client.reconnect_delay_set(1, 1)
        if tls:
            self.client.tls_set(**tls)  # type: ignore[arg-type]
        if broker.credentials is not None:
            self.client.username_pw_set(*broker.credentials)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.connect_async(broker.host, broker.port, keepalive=10)
        self.client.loop_start()

    def _on_connect(self, client: mqtt.Client, *args: object) -> None:
        client.subscribe(self.topic, qos=1)

    def _on_subscribe(self, *args: object) -> None:
        self.subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.messages.append(Received(msg.topic, bytes(msg.payload), msg.retain, time.time()))
            self._cond.notify_all()

    def wait_ready(self, timeout: float = 10.0) -> Subscriber:
        if not self.subscribed.wait(timeout):
            raise TimeoutError("test subscriber did not subscribe")
        return self

    def on(self, topic: str) -> list[Received]:
        with self._cond:
            return [m for m in self.messages if m.topic == topic]

    def wait_for(
        self,
        topic: str,
        where: Callable[[Received], bool] = lambda m: True,
        timeout: float = 15.0,
    ) -> Received:
        """The first message on ``topic`` that matches ``where`` (waiting for it)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for m in self.messages:
                    if m.topic == topic and where(m):
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = sorted({m.topic for m in self.messages})
                    raise TimeoutError(f"no matching message on {topic!r}; topics seen: {seen}")
                self._cond.wait(left)

    def clear(self) -> None:
        with self._cond:
            self.messages.clear()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
