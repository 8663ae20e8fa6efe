"""Secure mode end to end: real CURVE hubs and senders on 127.0.0.1, real key files."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import camhub
from camhub.security import (
    CurveClient,
    CurveServer,
    HubRefused,
    KeyFileError,
    add_security_args,
    reload_on_sighup,
    security_from_args,
    write_key_pair,
)
from camhub.transport import SocketSecurity
from tests.conftest import wait_until

SECURITY_LOG = "camhub.security"


@dataclass
class Keys:
    folder: Path
    authorized: Path

    def public(self, name: str) -> Path:
        return self.folder / f"{name}.key"

    def secret(self, name: str) -> Path:
        return self.folder / f"{name}.key_secret"

    def client(self, name: str, hub: str = "hub") -> CurveClient:
        return CurveClient(self.public(hub), self.secret(name))

    def authorize(self, name: str) -> None:
        shutil.copy(self.public(name), self.authorized / f"{name}.key")

    def revoke(self, name: str) -> None:
        (self.authorized / f"{name}.key").unlink()


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    k = Keys(tmp_path / "keys", tmp_path / "authorized")
    for name in ("hub", "cam1", "cam2", "intruder", "otherhub"):
        write_key_pair(k.folder, name)
    k.authorized.mkdir()
    k.authorize("cam1")
    k.authorize("cam2")
    return k


@pytest.fixture
def secure_hub(keys: Keys) -> Iterator[tuple[camhub.Hub, CurveServer]]:
    server = CurveServer(keys.secret("hub"), keys.authorized, reload_interval=0.1)
    with camhub.Hub("tcp://127.0.0.1:0", security=server) as hub:
        yield hub, server


def small_jpeg(seed: int = 1) -> bytes:
    """Noise compresses to incompressible bytes: any 24-byte run in it is distinctive."""
    rng = np.random.default_rng(seed)
    return camhub.encode_jpeg(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8), quality=95)


def stream(sender: camhub.Sender, name: str, n: int, jpeg: bytes) -> int:
    """Send n frames and wait for the replies; returns how many the hub acknowledged."""
    before = sender.stats.acked
    for _ in range(n):
        sender.send_jpeg(name, jpeg)
    sender.flush()
    return sender.stats.acked - before


def count(hub: camhub.Hub, camera: str) -> int:
    stats = hub.camera_stats(camera)
    return 0 if stats is None else stats.frames


# -- authorized senders ---------------------------------------------------------------


def test_authorized_senders_stream(keys: Keys, secure_hub: tuple[camhub.Hub, CurveServer]) -> None:
    hub, server = secure_hub
    jpeg = small_jpeg()
    with (
        camhub.Sender(hub.endpoint, security=keys.client("cam1")) as s1,
        camhub.Sender(hub.endpoint, security=keys.client("cam2")) as s2,
    ):
        assert stream(s1, "cam1", 10, jpeg) == 10
        assert stream(s2, "cam2", 10, jpeg) == 10
    assert count(hub, "cam1") == count(hub, "cam2") == 10
    latest = hub.latest("cam1")
    assert latest is not None and latest.jpeg == jpeg
    stats = server.stats()
    assert stats.accepted == 2 and stats.refusals == 0 and stats.authorized_keys == 2


def test_secure_pubsub_sender_to_hub_that_binds(keys: Keys) -> None:
    """PUB senders connecting to a hub's SUB socket are authenticated the same way."""
    server = CurveServer(keys.secret("hub"), keys.authorized)
    with camhub.Hub(None, sub_bind="tcp://127.0.0.1:0", security=server) as hub:
        pub = camhub.Publisher(hub.endpoint, bind=False, security=keys.client("cam1"))

        def delivered() -> bool:  # PUB drops frames until the handshake is done
            pub.send_jpeg("pubcam", small_jpeg())
            return count(hub, "pubcam") > 0

        try:
            wait_until(delivered)
        finally:
            pub.close()
    assert server.stats().accepted == 1


def test_secure_publisher_that_binds_and_hub_that_subscribes(keys: Keys) -> None:
    """imagezmq's PUB/SUB topology: the CURVE server is the hub, though it connects."""
    server = CurveServer(keys.secret("hub"), keys.authorized)
    pub = camhub.Publisher("tcp://127.0.0.1:0", bind=True, security=keys.client("cam2"))
    try:
        with camhub.Hub(None, subscribe_to=pub.address, security=server) as hub:

            def delivered() -> bool:
                pub.send_jpeg("pubcam", small_jpeg())
                return count(hub, "pubcam") > 0

            wait_until(delivered)
    finally:
        pub.close()
    assert server.stats().accepted == 1


def test_secure_imagezmq_style_api(keys: Keys) -> None:
    server = CurveServer(keys.secret("hub"), keys.authorized)
    with camhub.ImageHub("tcp://127.0.0.1:0", security=server) as image_hub:
        sender = camhub.ImageSender(image_hub.endpoint, security=keys.client("cam1"))
        result: list[bytes | None] = []
        thread = threading.Thread(target=lambda: result.append(sender.send_jpg("pi", small_jpeg())))
        thread.start()
        try:
            name, jpg = image_hub.recv_jpg(timeout=5)
            image_hub.send_reply(b"OK")
            thread.join(timeout=5)
        finally:
            sender.close()
    assert name == "pi" and jpg == small_jpeg() and result == [b"OK"]


# -- refusals ---------------------------------------------------------------------------

RefusedCase = tuple[Callable[[Keys], SocketSecurity | None], str, str]
REFUSED: dict[str, RefusedCase] = {
    "unknown key": (lambda k: k.client("intruder"), "hub refused our key", "unknown_key"),
    "wrong hub key": (lambda k: k.client("cam1", hub="otherhub"), "wrong hub key", "wrong_hub_key"),
    "plaintext": (lambda k: None, "requires CURVE encryption", "plaintext"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_sender_gets_clear_error_and_hub_keeps_serving(
    case: str,
    keys: Keys,
    secure_hub: tuple[camhub.Hub, CurveServer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    make_security, sender_says, reason = REFUSED[case]
    hub, server = secure_hub
    jpeg = small_jpeg()
    with camhub.Sender(hub.endpoint, security=keys.client("cam1")) as good:
        assert stream(good, "cam1", 5, jpeg) == 5

        bad = camhub.Sender(
            hub.endpoint, security=make_security(keys), timeout=5.0, on_timeout="raise"
        )
        try:
            with pytest.raises(HubRefused, match=sender_says):
                bad.send_jpeg("evil", jpeg)
            assert bad.stats.handshake_failures == 1
            # Until the retry pause is over, frames are refused at once, not after a wait.
            with pytest.raises(HubRefused, match=sender_says):
                bad.send_jpeg("evil", jpeg)
        finally:
            bad.close()
        assert sender_says in caplog.text  # the sender's own log says what went wrong

        assert stream(good, "cam1", 5, jpeg) == 5
    assert count(hub, "cam1") == 10
    assert hub.camera_stats("evil") is None
    # On bare loopback either side of a plaintext handshake may notice first; when the
    # sender hangs up first the hub only sees an aborted handshake.
    seen = {reason, "bad_handshake"} if reason == "plaintext" else {reason}
    wait_until(lambda: bool(seen & set(server.stats().by_reason)))
    refusals = [r.getMessage() for r in caplog.records if r.name == SECURITY_LOG]
    assert any(m.startswith("refused") for m in refusals)
    if reason == "unknown_key":  # ZAP names the peer; other cases: see the proxy test below
        assert any(m.startswith("refused sender at 127.0.0.1") for m in refusals)
        assert server.stats().by_address == {"127.0.0.1": 1}


def test_refused_sender_in_drop_mode_does_not_block(
    keys: Keys, secure_hub: tuple[camhub.Hub, CurveServer]
) -> None:
    hub, _ = secure_hub
    with camhub.Sender(hub.endpoint, security=keys.client("intruder"), timeout=5.0) as bad:
        results = [bad.send_jpeg("evil", small_jpeg()) for _ in range(20)]
        assert results == [False] * 20
        assert bad.stats.dropped == 20
        assert bad.last_error is not None and "refused our key" in bad.last_error


def test_secure_sender_to_plaintext_hub_is_told(keys: Keys, hub: camhub.Hub) -> None:
    with (
        camhub.Sender(
            hub.endpoint, security=keys.client("cam1"), timeout=5.0, on_timeout="raise"
        ) as s,
        pytest.raises(HubRefused, match="does not use CURVE"),
    ):
        s.send_jpeg("cam1", small_jpeg())


# -- adding and revoking keys without a restart ---------------------------------------------


def test_key_added_while_running_lets_a_refused_sender_in(
    keys: Keys, secure_hub: tuple[camhub.Hub, CurveServer]
) -> None:
    hub, server = secure_hub
    with camhub.Sender(hub.endpoint, security=keys.client("intruder"), timeout=0.3) as s:
        assert not s.send_jpeg("newcam", small_jpeg())
        keys.authorize("intruder")
        # The same sender object retries by itself after its pause.
        wait_until(lambda: s.send_jpeg("newcam", small_jpeg()) and s.flush(), timeout=10)
    assert count(hub, "newcam") >= 1
    assert server.stats().authorized_keys == 3


def test_revoked_key_is_cut_off_while_connected(
    keys: Keys, secure_hub: tuple[camhub.Hub, CurveServer]
) -> None:
    hub, server = secure_hub
    jpeg = small_jpeg()
    with (
        camhub.Sender(hub.endpoint, security=keys.client("cam1")) as s1,
        camhub.Sender(hub.endpoint, security=keys.client("cam2")) as s2,
    ):
        assert stream(s2, "cam2", 3, jpeg) == 3
        reloads = server.stats().reloads
        keys.revoke("cam2")
        wait_until(lambda: server.stats().reloads > reloads)
        assert server.stats().authorized_keys == 1

        # Still connected, but every frame is refused with a reason.
        stream(s2, "cam2", 3, jpeg)
        assert s2.stats.refused == 3
        assert s2.last_reply is not None and b"no longer authorized" in s2.last_reply
        assert count(hub, "cam2") == 3
        assert server.stats().by_reason["revoked_key"] == 3

        assert stream(s1, "cam1", 3, jpeg) == 3  # the others are unaffected

    # A new connection with the revoked key fails at the handshake.
    with (
        camhub.Sender(
            hub.endpoint, security=keys.client("cam2"), on_timeout="raise", timeout=5.0
        ) as again,
        pytest.raises(HubRefused, match="refused our key"),
    ):
        again.send_jpeg("cam2", jpeg)


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="needs SIGHUP")
def test_sighup_reloads_keys(keys: Keys) -> None:
    server = CurveServer(keys.secret("hub"), keys.authorized, reload_interval=None)
    restore = reload_on_sighup(server)
    try:
        with camhub.Hub("tcp://127.0.0.1:0", security=server) as hub:
            keys.authorize("intruder")
            with (
                camhub.Sender(
                    hub.endpoint, security=keys.client("intruder"), timeout=2.0, on_timeout="raise"
                ) as s,
                pytest.raises(HubRefused),
            ):
                s.send_jpeg("late", small_jpeg())  # the timer is off: not reloaded yet

            os.kill(os.getpid(), signal.SIGHUP)
            wait_until(lambda: server.stats().authorized_keys == 3)
            with camhub.Sender(hub.endpoint, security=keys.client("intruder")) as s:
                assert stream(s, "late", 2, small_jpeg()) == 2
    finally:
        restore()


# -- the bytes on the wire ----------------------------------------------------------------


class RecordingProxy:
    """A TCP forwarder 127.0.0.1:port -> 127.0.0.1:target that keeps every byte it passes."""

    def __init__(self, target_port: int, reply_delay: float = 0.0) -> None:
        self.target_port = target_port
        self.reply_delay = reply_delay
        """Seconds to hold back the hub's first bytes to the client (a slow link)."""
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = int(self.listener.getsockname()[1])
        self.captured = bytearray()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._sockets: list[socket.socket] = []
        self._threads[0].start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=2)
            self._sockets += [client, upstream]
            for src, dst, delay in ((client, upstream, 0.0), (upstream, client, self.reply_delay)):
                t = threading.Thread(target=self._pump, args=(src, dst, delay), daemon=True)
                self._threads.append(t)
                t.start()

    def _pump(self, src: socket.socket, dst: socket.socket, delay: float) -> None:
        src.settimeout(0.1)
        self._stop.wait(delay)
        while not self._stop.is_set():
            try:
                data = src.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not data:
                break
            with self._lock:
                self.captured += data
            try:
                dst.sendall(data)
            except OSError:
                break
        try:
            dst.shutdown(socket.SHUT_WR)  # pass the hang-up on, as a real network would
        except OSError:
            pass

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=2)
        for s in [*self._sockets, self.listener]:
            s.close()


@pytest.mark.parametrize("secure", [True, False], ids=["curve", "plaintext-control"])
def test_traffic_on_the_wire_hides_the_jpeg(secure: bool, keys: Keys) -> None:
    jpeg = small_jpeg(seed=7)
    needle = jpeg[len(jpeg) // 2 : len(jpeg) // 2 + 24]
    name = "backyard-camera-7"
    server = CurveServer(keys.secret("hub"), keys.authorized) if secure else None
    with camhub.Hub("tcp://127.0.0.1:0", security=server) as hub:
        port = int(hub.endpoint.rsplit(":", 1)[1])
        proxy = RecordingProxy(port)
        try:
            security = keys.client("cam1") if secure else None
            with camhub.Sender(f"tcp://127.0.0.1:{proxy.port}", security=security) as s:
                assert stream(s, name, 5, jpeg) == 5
        finally:
            proxy.close()
        latest = hub.latest(name)
        assert latest is not None and latest.jpeg == jpeg
    captured = bytes(proxy.captured)
    assert len(captured) > 5 * len(jpeg)  # the frames really went through the proxy
    if secure:
        assert needle not in captured
        assert name.encode() not in captured
    else:
        assert needle in captured
        assert name.encode() in captured


@pytest.mark.parametrize("case", ["wrong hub key", "plaintext"])
def test_refusals_before_authentication_name_the_address_across_a_network(
    case: str, keys: Keys, secure_hub: tuple[camhub.Hub, CurveServer]
) -> None:
    """These handshakes fail before ZAP is asked; the hub reads the address from the
    accepted connection, which works when the peer is a network round trip away (on bare
    loopback libzmq may close the connection before the hub's thread looks). The hub's
    greeting reaches the sender late, so the hub is the side that spots the problem."""
    make_security, sender_says, reason = REFUSED[case]
    hub, server = secure_hub
    proxy = RecordingProxy(int(hub.endpoint.rsplit(":", 1)[1]), reply_delay=0.2)
    try:
        with (
            camhub.Sender(
                f"tcp://127.0.0.1:{proxy.port}",
                security=make_security(keys),
                timeout=5.0,
                on_timeout="raise",
            ) as bad,
            pytest.raises(HubRefused, match=sender_says),
        ):
            bad.send_jpeg("evil", small_jpeg())
    finally:
        proxy.close()
    wait_until(lambda: server.stats().by_reason.get(reason, 0) >= 1)
    # (libzmq may retry a wrong-key handshake once more before the sender closes.)
    assert set(server.stats().by_address) == {"127.0.0.1"}


# -- key files and flags ------------------------------------------------------------------------


def test_key_file_mistakes_get_clear_errors(keys: Keys, tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match=r"only a public key.*cam1\.key_secret"):
        CurveClient(keys.public("hub"), keys.public("cam1"))
    with pytest.raises(KeyFileError, match="does not exist"):
        CurveClient(tmp_path / "nope.key", keys.secret("cam1"))
    with pytest.raises(KeyFileError, match="hub's own key pair"):
        CurveClient(keys.public("hub"), keys.secret("hub"))
    with pytest.raises(KeyFileError, match="only a public key"):
        CurveServer(keys.public("hub"), keys.authorized)
    with pytest.raises(KeyFileError, match="neither a folder"):
        CurveServer(keys.secret("hub"), tmp_path / "missing-folder")
    garbage = tmp_path / "garbage.key"
    garbage.write_text('curve\n    public-key = "not a key"\n')
    with pytest.raises(KeyFileError, match="not a 40-character"):
        CurveClient(garbage, keys.secret("cam1"))


def test_bad_files_in_the_authorized_folder_are_skipped(
    keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    (keys.authorized / "broken.key").write_text("hello\n")
    shutil.copy(keys.secret("intruder"), keys.authorized / "intruder.key_secret")
    server = CurveServer(keys.secret("hub"), keys.authorized)
    assert sorted(server.authorized.names()) == ["cam1", "cam2"]
    assert "broken.key" in caplog.text
    assert "SECRET key in the authorized keys folder" in caplog.text


def test_authorized_keys_as_a_list_of_files_and_keys(keys: Keys) -> None:
    from camhub.security import read_key_file

    literal = read_key_file(keys.public("cam2")).public.decode()
    server = CurveServer(keys.secret("hub"), [keys.public("cam1"), literal])
    assert len(server.authorized) == 2


def _parse(role: str, argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_security_args(parser, role="hub" if role == "hub" else "sender")
    return parser.parse_args(argv)


@pytest.fixture
def keep_sighup() -> Iterator[None]:
    """The hub flags install a SIGHUP handler; put the previous one back afterwards."""
    sig = getattr(signal, "SIGHUP", None)
    previous = signal.getsignal(sig) if sig is not None else None
    yield
    if sig is not None:
        signal.signal(sig, previous)


@pytest.mark.usefixtures("keep_sighup")
def test_security_flags(keys: Keys, caplog: pytest.LogCaptureFixture) -> None:
    hub_flags = ["--secret-key", str(keys.secret("hub")), "--authorized-keys", str(keys.authorized)]
    server = security_from_args(_parse("hub", hub_flags))
    assert isinstance(server, CurveServer) and len(server.authorized) == 2
    client = security_from_args(
        _parse("sender", ["--hub-key", str(keys.public("hub")), "--key", str(keys.secret("cam1"))])
    )
    assert isinstance(client, CurveClient) and client.name == "cam1"

    assert security_from_args(_parse("hub", [])) is None
    assert security_from_args(_parse("sender", [])) is None
    assert "WITHOUT encryption" in caplog.text

    with pytest.raises(camhub.CamhubError, match="--authorized-keys"):
        security_from_args(_parse("hub", ["--secret-key", str(keys.secret("hub"))]))
    with pytest.raises(camhub.CamhubError, match="--secret-key"):
        security_from_args(_parse("hub", ["--authorized-keys", str(keys.authorized)]))
    with pytest.raises(camhub.CamhubError, match="--hub-key"):
        security_from_args(_parse("sender", ["--key", str(keys.secret("cam1"))]))
    with pytest.raises(camhub.CamhubError, match="--key"):
        security_from_args(_parse("sender", ["--hub-key", str(keys.public("hub"))]))


def test_no_secret_in_reprs_or_logs(keys: Keys, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    from camhub.security import read_key_file

    secret = read_key_file(keys.secret("cam1"), need_secret=True).secret
    assert secret is not None
    client = keys.client("cam1")
    server = CurveServer(keys.secret("hub"), keys.authorized)
    with (
        camhub.Hub("tcp://127.0.0.1:0", security=server) as hub,
        camhub.Sender(hub.endpoint, security=client) as s,
    ):
        stream(s, "cam1", 1, small_jpeg())
    text = repr(client) + repr(server) + repr(read_key_file(keys.secret("cam1"))) + caplog.text
    assert secret.decode() not in text


def test_zap_handler_leaves_plaintext_sockets_alone(
    keys: Keys, secure_hub: tuple[camhub.Hub, CurveServer], hub: camhub.Hub
) -> None:
    """A secure hub and a plaintext hub in one process both keep working."""
    with camhub.Sender(hub.endpoint) as plain:
        assert stream(plain, "plain", 2, small_jpeg()) == 2
    with camhub.Sender(secure_hub[0].endpoint, security=keys.client("cam1")) as secure:
        assert stream(secure, "cam1", 2, small_jpeg()) == 2
