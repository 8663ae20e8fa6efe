"""Run the dashboard with uvicorn in a background thread, with safe defaults:
loopback only unless exposing is asked for, and then only with a token (TLS optional)."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from camhub.detect.scheduler import ObjectDetection
from camhub.history import History
from camhub.notify import Sink
from camhub.processing import ProcessorRunner
from camhub.types import CamhubError, HubView
from camhub.web.app import Dashboard, create_app
from camhub.web.auth import LoopbackHostOnly
from camhub.web.guard import ConnectionGuard, ConnectionLimits, protocols
from camhub.web.live import LiveVideo
from camhub.web.phone import FRAME_HEADER_ALLOWANCE, Phones
from camhub.web.webrtc import WebRtcLive

log = logging.getLogger("camhub.web")
# uvicorn's own start/stop chatter repeats what camhub logs; keep its warnings and errors.
logging.getLogger("uvicorn.error").setLevel(logging.WARNING)

DEFAULT_WEB = "127.0.0.1:8000"


class WebConfigError(CamhubError, ValueError):
    """The dashboard's address, token or TLS settings are unusable."""


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6; a bare ``PORT`` means 127.0.0.1)."""
    text = text.strip()
    if text.isdigit():
        host, port_text = "127.0.0.1", text
    elif text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":")
    else:
        host, _, port_text = text.rpartition(":")
    if not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise WebConfigError(
            f"bad dashboard address {text!r}: expected HOST:PORT, e.g. 127.0.0.1:8000 "
            "or 0.0.0.0:8000 (with --web-expose)"
        )
    return host, int(port_text)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_access(host: str, *, expose: bool, token: str | None) -> None:
    """Refuse configurations that would show the cameras to the network by accident."""
    if not is_loopback(host) and not expose:
        raise WebConfigError(
            f"refusing to serve the dashboard on {host}: that reaches other machines. "
            "Add --web-expose (and a token) if you mean it, or use 127.0.0.1"
        )
    if expose and not token:
        raise WebConfigError(
            "--web-expose needs a token so strangers cannot watch your cameras: set "
            "CAMHUB_WEB_TOKEN or use --web-token-file FILE (make one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(24))')"
        )


class _QuietServer(uvicorn.Server):
    """uvicorn's server with a slower housekeeping tick: its loop wakes 10 times a second
    to check for shutdown and refresh the Date header, which is a measurable share of an
    otherwise idle hub's CPU (the 16-camera figure in docs/benchmarks.md)."""

    TICK = 0.25

    def __init__(self, config: uvicorn.Config, guard: ConnectionGuard) -> None:
        super().__init__(config)
        self.guard = guard

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await super().shutdown(sockets)
        # uvicorn waits a while for connections to close, then leaves the rest open.
        if self.guard.abort_all():
            await asyncio.sleep(0)  # the transports close their sockets on the next turn
            await asyncio.sleep(0)

    async def main_loop(self) -> None:
        # Each tick counts as ten of uvicorn's, so on_tick refreshes the Date header every
        # time; shutdown is noticed within TICK seconds.
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            await asyncio.sleep(self.TICK)
            counter = (counter + 10) % 864000
            should_exit = await self.on_tick(counter)


class WebServer:
    """The dashboard for ``hub`` on ``host:port`` (port 0 picks a free one)."""

    def __init__(
        self,
        hub: HubView,
        address: str = DEFAULT_WEB,
        *,
        processors: Sequence[ProcessorRunner] = (),
        sinks: Sequence[Sink] = (),
        detection: ObjectDetection | None = None,
        expose: bool = False,
        token: str | None = None,
        tls_cert: str | Path | None = None,
        tls_key: str | Path | None = None,
        history: History | None = None,
        phones: Phones | None = None,
        limits: ConnectionLimits | None = None,
    ) -> None:
        self.host, port = parse_address(address)
        check_access(self.host, expose=expose, token=token)
        if (tls_cert is None) != (tls_key is None):
            raise WebConfigError("TLS needs both --tls-cert and --tls-key")
        for path in (tls_cert, tls_key):
            if path is not None and not Path(path).is_file():
                raise WebConfigError(f"TLS file {path} does not exist")
        self.tls = tls_cert is not None
        self.app = create_app(
            hub,
            processors,
            token=token,
            secure_cookie=self.tls,
            history=history,
            sinks=sinks,
            detection=detection,
            phones=phones,
        )
        self.dashboard: Dashboard = self.app.state.dashboard
        self._socket = self._bind(self.host, port)
        self.port = int(self._socket.getsockname()[1])
        # Connection limits (head deadline, per-address cap) live in the protocols: see
        # camhub.web.guard. No limit_concurrency: it counts idle connections of everybody.
        self.guard = ConnectionGuard(limits)
        http_protocol, ws_protocol = protocols(self.guard)
        # Without a token the dashboard trusts its loopback address, so it answers only
        # to loopback names (DNS rebinding); a token guards every other name.
        served = self.app if token else LoopbackHostOnly(self.app)
        self.config = uvicorn.Config(
            served,
            log_config=None,
            access_log=False,  # query strings may carry the token
            lifespan="on",
            http=http_protocol,
            # WebSockets for browser cameras and live video; no compression: JPEG and
            # video do not shrink, and inflating is where a decompression bomb would go off.
            ws=ws_protocol,
            ws_max_size=(phones.limits.max_payload if phones else 0) + FRAME_HEADER_ALLOWANCE,
            ws_per_message_deflate=False,
            ssl_certfile=None if tls_cert is None else str(tls_cert),
            ssl_keyfile=None if tls_key is None else str(tls_key),
            timeout_graceful_shutdown=2,
            timeout_keep_alive=self.guard.limits.keep_alive_s,
            server_header=False,
        )
        try:
            self.config.load()  # bad certificates fail here, in the caller's thread
        except (OSError, ValueError) as exc:
            self._socket.close()
            raise WebConfigError(f"cannot load TLS certificate/key: {exc}") from None
        self.server = _QuietServer(self.config, self.guard)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @staticmethod
    def _bind(host: str, port: int) -> socket.socket:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise WebConfigError(
                f"dashboard cannot listen on {host}:{port}: {exc.strerror or exc} "
                "(choose another with --web HOST:PORT; port 0 picks a free one)"
            ) from None
        sock.listen(128)
        sock.set_inheritable(True)
        return sock

    @property
    def url(self) -> str:
        host = self.host if self.host not in ("0.0.0.0", "::") else "127.0.0.1"
        host = f"[{host}]" if ":" in host else host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}/"

    def start(self, timeout: float = 10.0) -> WebServer:
        self._thread = threading.Thread(target=self._serve, name="camhub-web", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if self._error is not None or not self._thread.is_alive():
                raise WebConfigError(f"dashboard failed to start: {self._error}")
            if time.monotonic() > deadline:
                raise WebConfigError(f"dashboard did not start within {timeout:.0f} s")
            time.sleep(0.02)
        log.info("dashboard at %s", self.url)
        return self

    def _serve(self) -> None:
        try:
            self.server.run(sockets=[self._socket])
        except BaseException as exc:  # SystemExit from uvicorn on start-up failure
            self._error = exc
            log.error("dashboard stopped: %s", exc)

    def stop(self, timeout: float = 5.0) -> None:
        """End open streams, then the server; never blocks longer than ``timeout``."""
        if self.app.state.events_api is not None:
            self.app.state.events_api.close_streams()  # after the ends already published
        loop = self.dashboard.broadcaster.loop
        if loop is not None and not loop.is_closed():
            try:
                asyncio.run_coroutine_threadsafe(
                    _close(self.dashboard, self.app.state.live, self.app.state.webrtc), loop
                ).result(3.0)
            except Exception:
                pass
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                self.server.force_exit = True
                self._thread.join(1.0)
        self._socket.close()

    def __enter__(self) -> WebServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def _close(dashboard: Dashboard, live: LiveVideo, webrtc: WebRtcLive) -> None:
    await webrtc.close()
    live.close()
    dashboard.broadcaster.close()
