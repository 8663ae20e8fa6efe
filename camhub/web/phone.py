"""Browser cameras: the phone page (``/cam``), pairing, and the frame WebSocket.

The phone's paths carry their own credentials (pairing code, then a device token), so
they are open to the dashboard's token check; the ``/phones`` page and ``/api/phones``
(join link, QR code, devices, per-client counters) stay behind it. See
:mod:`camhub.phones.wire` for the WebSocket protocol and docs/phone.md for the whole.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from camhub.bus import EventBus
from camhub.phones import qr
from camhub.phones.devices import DeviceError, DeviceRegistry
from camhub.phones.gate import (
    REFUSED_IDLE,
    REFUSED_NO_HELLO,
    REFUSED_PAIRING,
    REFUSED_REVOKED,
    REFUSED_TOKEN,
    FrameRate,
    PhoneGate,
)
from camhub.phones.wire import PHONE_CODECS, decode_frame
from camhub.protocol import DEFAULT_LIMITS, Limits, ProtocolError
from camhub.types import CameraName, Frame, HubEvent
from camhub.video.packet import Codec
from camhub.web.guard import raise_ws_limit
from camhub.web.responses import STATIC, html_headers, read_body
from camhub.web.responses import json as _json

log = logging.getLogger("camhub.phones")

OPEN_PATHS = frozenset({"/cam", "/cam/cam.js", "/cam/cam.css", "/cam/pair", "/cam/ws"})
"""Paths a phone reaches without the dashboard token (they check their own)."""
_HEADERS = {
    # The camera page shows the camera's own stream and talks over a WebSocket.
    **html_headers(media="'self' blob: mediastream:", connect="'self'"),
    "Cache-Control": "no-store",
}
BODY_TIMEOUT_S = 10.0
FRAME_HEADER_ALLOWANCE = 64 * 1024
"""Room for a frame message's JSON header on top of the largest JPEG."""
CLOSE_UNKNOWN = 4401
CLOSE_REVOKED = 4403

Put = Callable[[Frame, str], None]


@dataclass(slots=True)
class Phones:
    """What the phone endpoints need: who may stream, the limits, and where frames go
    (``put(frame, peer)``: the camera store's one ingest entry)."""

    registry: DeviceRegistry
    put: Put
    gate: PhoneGate = field(default_factory=PhoneGate)
    limits: Limits = DEFAULT_LIMITS
    join_base: str | None = None
    """``https://HOST:PORT/`` that phones open; set once the port is known."""
    bus: EventBus | None = None
    """Where bad frames are announced, as the ZeroMQ receiver announces its malformed
    messages (a ``malformed`` :class:`~camhub.types.HubEvent`)."""
    count_malformed: Callable[[CameraName], object] | None = None
    """Where a bad frame counts against its camera (the camera store's
    ``count_malformed``, as for ZeroMQ senders)."""
    video: tuple[Codec, ...] = PHONE_CODECS
    """Video codecs phones may send (the page picks the first its browser encodes);
    ``()``: JPEG only."""

    @property
    def join_url(self) -> str | None:
        """The link (and QR code) that lets a phone join, with the current pairing code
        (``camhub phones pairing --new`` in another process shows here at once)."""
        if self.join_base is None:
            return None
        return f"{self.join_base}cam?pair={quote(self.registry.current_pairing_code())}"

    def malformed(self, peer: str, reason: str, camera: CameraName | None = None) -> None:
        if camera is not None and self.count_malformed is not None:
            self.count_malformed(camera)
        if self.bus is not None:
            self.bus.publish(HubEvent("malformed", camera, time.time(), f"{peer}: {reason}"))


def _address(conn: Request | WebSocket) -> str:
    return conn.client.host if conn.client is not None else "unknown"


class PhoneEndpoints:
    def __init__(self, phones: Phones) -> None:
        self.phones = phones

    # -- pages ------------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        return FileResponse(STATIC / "cam.html", headers=_HEADERS)

    async def script(self, request: Request) -> Response:
        return FileResponse(STATIC / "cam.js", headers={"Cache-Control": "no-store"})

    async def style(self, request: Request) -> Response:
        return FileResponse(STATIC / "cam.css", headers={"Cache-Control": "no-store"})

    async def pair(self, request: Request) -> Response:
        gate = self.phones.gate
        address = _address(request)
        refused = gate.attempt(address)
        if refused is not None:
            return _json({"error": refused}, 429)
        try:
            # A body sent a byte at a time must not hold the connection for long.
            raw = await asyncio.wait_for(read_body(request, 4096), BODY_TIMEOUT_S)
        except TimeoutError:
            gate.refuse(address, REFUSED_PAIRING, "pairing request body too slow")
            return _json({"error": f"send the body within {BODY_TIMEOUT_S:g} s"}, 408)
        except ValueError:  # over 4096 bytes
            raw = b""
        try:
            body = json.loads(raw)
            code, name = body["code"], body["name"]
            if not isinstance(code, str) or not isinstance(name, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            gate.refuse(address, REFUSED_PAIRING, "bad pairing request")
            return _json({"error": 'send JSON {"code": PAIRING_CODE, "name": DEVICE_NAME}'}, 400)
        try:
            token = self.phones.registry.pair(code, name)
        except DeviceError as exc:
            gate.refuse(address, REFUSED_PAIRING, str(exc))
            return _json({"error": str(exc)}, 403)
        return _json({"token": token, "name": name.strip()})

    # -- the frame socket -------------------------------------------------------------

    async def socket(self, ws: WebSocket) -> None:
        gate = self.phones.gate
        address = _address(ws)
        refused = gate.admit(address)
        if refused is not None:
            # Refused before the handshake (HTTP 403): costs the hub almost nothing under
            # a flood. The reason is counted per address and shown on /api/phones.
            await ws.close(1008)
            return
        try:
            await ws.accept()
            device = await self._hello(ws, address)
            if device is not None:
                await self._stream(ws, *device, address)
        except WebSocketDisconnect:
            pass
        finally:
            gate.leave(address)

    async def _close(self, ws: WebSocket, code: int, reason: str) -> None:
        if ws.application_state == WebSocketState.CONNECTED:
            try:
                await ws.send_text(json.dumps({"type": "refused", "reason": reason}))
                await ws.close(code, reason.encode()[:120].decode("utf-8", "ignore"))
            except (WebSocketDisconnect, RuntimeError, OSError):
                pass

    async def _hello(self, ws: WebSocket, address: str) -> tuple[str, str] | None:
        """Wait for the hello; returns (device name, token) or None after refusing."""
        gate = self.phones.gate
        try:
            msg = await asyncio.wait_for(ws.receive_text(), gate.limits.auth_timeout_s)
            hello = json.loads(msg)
            token = hello.get("token") if isinstance(hello, dict) else None
        except WebSocketDisconnect as exc:
            if exc.code == 1009:  # the server's pre-authentication message limit
                reason = "message before the hello over the limit for unauthenticated clients"
                gate.count(address, "oversized", reason)
                self.phones.malformed(f"{address} (browser)", reason)
                log.warning("phone connection from %s closed: %s", address, reason)
            raise
        except TimeoutError:
            reason = "no hello with a device token in time"
            gate.refuse(address, REFUSED_NO_HELLO, reason)
            await self._close(ws, 1008, reason)
            return None
        except (ValueError, KeyError, TypeError):
            token = None
        try:
            token = token if isinstance(token, str) else ""
            device = self.phones.registry.check(token)
        except DeviceError as exc:
            await self._refuse(ws, address, exc)
            return None
        return device.name, token

    async def _refuse(self, ws: WebSocket, client: str, exc: DeviceError) -> None:
        reason = str(exc)
        revoked = "revoked" in reason
        self.phones.gate.refuse(client, REFUSED_REVOKED if revoked else REFUSED_TOKEN, reason)
        log.warning("phone refused (%s): %s", client, reason)
        await self._close(ws, CLOSE_REVOKED if revoked else CLOSE_UNKNOWN, reason)

    async def _stream(self, ws: WebSocket, camera: str, token: str, address: str) -> None:
        phones = self.phones
        gate, limits = phones.gate, phones.limits
        gate.count(camera, "connections")
        port = ws.client.port if ws.client is not None else 0
        peer = f"{address}:{port} (browser)"
        rate = FrameRate(gate.limits.max_fps)
        # Only now, with the device known, may messages be as large as a frame.
        raise_ws_limit(ws.scope, limits.max_payload + FRAME_HEADER_ALLOWANCE)
        await ws.send_text(
            json.dumps(
                {
                    "type": "welcome",
                    "camera": camera,
                    "max_fps": gate.limits.max_fps,
                    "max_bytes": limits.max_payload,
                    "hub_time": time.time(),
                    "video": list(phones.video),
                }
            )
        )
        log.info("phone %s streaming from %s", camera, address)
        checked = time.monotonic()
        activity = [checked]
        # One watchdog task per connection, not a timeout per message: asyncio.wait_for
        # would cost a task for every frame.
        watchdog = asyncio.create_task(self._idle_watch(ws, camera, activity))
        try:
            await self._frames(ws, camera, token, peer, rate, checked, activity)
        finally:
            watchdog.cancel()

    async def _idle_watch(self, ws: WebSocket, camera: str, activity: list[float]) -> None:
        idle = self.phones.gate.limits.idle_timeout_s
        while True:
            await asyncio.sleep(idle / 4)
            if time.monotonic() - activity[0] > idle:
                self.phones.gate.refuse(camera, REFUSED_IDLE, "idle")
                await self._close(ws, 1008, f"nothing received for {idle:g} s")
                return

    async def _frames(
        self,
        ws: WebSocket,
        camera: str,
        token: str,
        peer: str,
        rate: FrameRate,
        checked: float,
        activity: list[float],
    ) -> None:
        phones = self.phones
        gate, limits = phones.gate, phones.limits
        while True:
            message = await ws.receive()
            now = activity[0] = time.monotonic()
            if message["type"] == "websocket.disconnect":
                if message.get("code") == 1009:
                    reason = f"frame over the limit of {limits.max_payload} bytes"
                    gate.count(camera, "oversized", reason)
                    phones.malformed(peer, reason, camera)
                    log.warning("phone %s closed: %s", camera, reason)
                return
            if now - checked >= 1.0:
                # A revoked phone stops within a second, not at its next reconnect.
                checked = now
                try:
                    phones.registry.check(token)
                except DeviceError as exc:
                    await self._refuse(ws, camera, exc)
                    return
            data = message.get("bytes")
            if data is None:
                await self._text(ws, message.get("text") or "")
                continue
            verdict = rate.check()
            if verdict != "ok":
                reason = f"sending faster than {rate.max_fps:g} fps"
                gate.count(camera, "rate_limited", reason)
                if verdict == "close":
                    log.warning("phone %s closed: %s", camera, reason)
                    await self._close(ws, 1008, reason)
                    return
                await ws.send_text('{"type":"drop","reason":"over the frame rate"}')
                continue
            try:
                frame = decode_frame(data, camera, limits, video=phones.video)
            except ProtocolError as exc:
                reason = str(exc)
                gate.count(camera, "malformed", reason)
                phones.malformed(peer, reason, camera)
                log.warning("phone %s sent a bad frame: %s", camera, reason)
                await self._close(ws, 1007, f"bad frame: {reason}")
                return
            phones.put(frame, peer)
            gate.add_frame(camera, len(data), frame.encoding)
            age = frame.age
            seq = "null" if frame.seq is None else frame.seq
            age_ms = "null" if age is None else f"{age * 1000:.1f}"
            await ws.send_text(f'{{"type":"ack","seq":{seq},"age_ms":{age_ms}}}')

    async def _text(self, ws: WebSocket, text: str) -> None:
        try:
            msg = json.loads(text) if len(text) < 1024 else None
        except ValueError:
            msg = None
        if isinstance(msg, dict) and msg.get("type") == "ping":
            t = msg.get("t")
            reply = {"type": "pong", "t": t if isinstance(t, int | float) else None}
            reply["hub"] = time.time()
            await ws.send_text(json.dumps(reply))

    # -- the dashboard's side -----------------------------------------------------------

    async def info_page(self, request: Request) -> Response:
        return FileResponse(STATIC / "phones.html", headers=_HEADERS)

    async def info(self, request: Request) -> Response:
        phones = self.phones
        devices = [
            {"name": d.name, "paired_at": d.paired_at, "revoked_at": d.revoked_at}
            for d in phones.registry.devices()
        ]
        return _json(
            {
                "join_url": phones.join_url,
                "devices": devices,
                "clients": [c.as_dict() for c in phones.gate.clients()],
                "limits": {"max_fps": phones.gate.limits.max_fps},
            }
        )

    async def qr_svg(self, request: Request) -> Response:
        url = self.phones.join_url
        if url is None:
            return _json({"error": "the hub does not know its join link yet"}, 404)
        return Response(
            qr.svg(url),
            media_type="image/svg+xml",
            headers={"Cache-Control": "no-store"},
        )

    async def revoke(self, request: Request) -> Response:
        name = request.path_params["name"]
        try:
            self.phones.registry.revoke(name)
        except DeviceError as exc:
            return _json({"error": str(exc)}, 404)
        return _json({"revoked": name})


def phone_routes(phones: Phones) -> list[BaseRoute]:
    ep = PhoneEndpoints(phones)
    return [
        Route("/cam", ep.page),
        Route("/cam/cam.js", ep.script),
        Route("/cam/cam.css", ep.style),
        Route("/cam/pair", ep.pair, methods=["POST"]),
        WebSocketRoute("/cam/ws", ep.socket),
        Route("/phones", ep.info_page),
        Route("/api/phones", ep.info),
        Route("/api/phones/qr.svg", ep.qr_svg),
        Route("/api/phones/{name:path}/revoke", ep.revoke, methods=["POST"]),
    ]
