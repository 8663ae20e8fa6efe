"""Fixtures for browser-camera tests: a real Hub, a real dashboard (uvicorn, HTTPS with a
certificate made by camhub) with the phone endpoints, and real WebSocket clients."""

from __future__ import annotations

import contextlib
import json
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

import camhub
from camhub.phones import DeviceRegistry, PhoneGate, PhoneLimits
from camhub.phones.wire import encode_frame
from camhub.protocol import Limits
from camhub.security.certs import ensure_certificate
from camhub.web import WebServer
from camhub.web.guard import ConnectionLimits
from camhub.web.phone import Phones


@dataclass
class PhoneHub:
    hub: camhub.Hub
    web: WebServer
    phones: Phones
    registry: DeviceRegistry
    cert: Path
    folder: Path
    clients: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.web.port}"

    @property
    def ws_url(self) -> str:
        return f"wss://127.0.0.1:{self.web.port}/cam/ws"

    def ssl(self) -> ssl.SSLContext:
        # Trust exactly the hub's own certificate: proves its names cover 127.0.0.1.
        return ssl.create_default_context(cafile=str(self.cert))

    def device(self, name: str) -> str:
        return self.registry.pair(self.registry.pairing_code, name)

    def open(self, token: str | None, **kw: Any) -> tuple[ClientConnection, dict[str, Any]]:
        """Connect and say hello; returns the socket and the hub's first answer."""
        ws = self.clients.enter_context(
            connect(self.ws_url, ssl=self.ssl(), open_timeout=10, close_timeout=2, **kw)
        )
        ws.send(json.dumps({"type": "hello", "token": token or ""}))
        first = json.loads(ws.recv(timeout=10))
        return ws, first


def send_frame(ws: ClientConnection, jpeg: bytes, seq: int) -> dict[str, Any]:
    ws.send(encode_frame(jpeg, seq, time.time()))
    reply: dict[str, Any] = json.loads(ws.recv(timeout=10))
    return reply


def start_phone_hub(
    folder: Path,
    limits: PhoneLimits | None = None,
    frame_limits: Limits | None = None,
    port: int = 0,
    token: str | None = None,
    connection_limits: ConnectionLimits | None = None,
) -> PhoneHub:
    hub = camhub.Hub(bind="tcp://127.0.0.1:0", offline_after=1.0).start()
    registry = DeviceRegistry(folder)
    cert, key = ensure_certificate(folder)
    phones = Phones(
        registry,
        hub.store.put,
        gate=PhoneGate(limits),
        limits=frame_limits or hub.limits,
        bus=hub.bus,
        count_malformed=hub.store.count_malformed,
    )
    web = WebServer(
        hub,
        f"127.0.0.1:{port}",
        processors=hub.processors,
        expose=token is not None,
        token=token,
        tls_cert=cert,
        tls_key=key,
        phones=phones,
        limits=connection_limits,
    ).start()
    phones.join_base = f"https://127.0.0.1:{web.port}/"
    return PhoneHub(hub, web, phones, registry, cert, folder)


def stop_phone_hub(ph: PhoneHub) -> None:
    ph.clients.close()
    ph.web.stop()
    ph.hub.stop()


@pytest.fixture
def phone_hub(tmp_path: Path) -> Iterator[PhoneHub]:
    ph = start_phone_hub(tmp_path / "phones")
    yield ph
    stop_phone_hub(ph)


FAKE_CAMERA_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--ignore-certificate-errors",
]
"""Chromium's built-in test camera (a moving pattern at 640x480), no permission prompt,
and the hub's self-signed certificate accepted as a phone's user would after one tap."""


@pytest.fixture(scope="session")
def phone_browser(playwright: Any) -> Iterator[Any]:
    from camhub.web.browser import CHROMIUM, CHROMIUM_ARGS

    b = playwright.chromium.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *FAKE_CAMERA_ARGS]
    )
    yield b
    b.close()


@pytest.fixture
def phone_page(phone_browser: Any) -> Iterator[Any]:
    context = phone_browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, ignore_https_errors=True
    )
    page = context.new_page()
    yield page
    context.close()


def page_state(page: Any) -> dict[str, str]:
    """The page's data-* status (state, sent, acked, fps, age, message...)."""
    state: dict[str, str] = page.evaluate("() => Object.assign({}, document.body.dataset)")
    return state


def wait_page(page: Any, check: Any, timeout: float = 20.0, what: str = "") -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        state = page_state(page)
        if check(state):
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; page: {state}")
        time.sleep(0.1)
