"""camhub against the real imagezmq 1.2.0 from PyPI, in both directions, both patterns."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import imagezmq
import numpy as np
import pytest

import camhub
from tests.conftest import free_port, last_endpoint, wait_until

pytestmark = pytest.mark.timeout(60)


# -- imagezmq senders -> camhub hubs -------------------------------------------------


def test_imagezmq_req_sender_to_camhub_hub(hub: camhub.Hub, image: np.ndarray, jpeg: bytes) -> None:
    sender = imagezmq.ImageSender(connect_to=hub.endpoint)
    try:
        assert sender.send_image("izmq-raw", image) == b"OK"
        assert sender.send_jpg("izmq-jpg", jpeg) == b"OK"
    finally:
        sender.close()
    raw, jpg = hub.latest("izmq-raw"), hub.latest("izmq-jpg")
    assert raw is not None and np.array_equal(raw.image, image)
    assert jpg is not None and jpg.jpeg == jpeg and jpg.encoding == "jpeg"


def test_imagezmq_req_sender_to_camhub_imagehub(image: np.ndarray, jpeg: bytes) -> None:
    with camhub.ImageHub("tcp://127.0.0.1:0") as hub:
        sender = imagezmq.ImageSender(connect_to=hub.endpoint)
        replies: list[bytes] = []
        t = threading.Thread(
            target=lambda: replies.extend(
                [sender.send_image("a", image), sender.send_jpg("b", jpeg)]
            )
        )
        t.start()
        name, got = hub.recv_image(timeout=5)
        hub.send_reply(b"OK")
        name2, got_jpg = hub.recv_jpg(timeout=5)
        hub.send_reply(b"thanks")
        t.join(5)
        sender.close()
    assert (name, name2) == ("a", "b")
    assert np.array_equal(got, image) and got_jpg == jpeg
    assert replies == [b"OK", b"thanks"]


def test_imagezmq_pub_sender_to_camhub_hub_and_imagehub(image: np.ndarray) -> None:
    pub = imagezmq.ImageSender(connect_to="tcp://127.0.0.1:*", REQ_REP=False)  # binds
    endpoint = last_endpoint(pub.zmq_socket)
    hub = camhub.Hub(None, subscribe_to=endpoint).start()
    ihub = camhub.ImageHub(endpoint, REQ_REP=False)
    try:
        got: tuple[str, np.ndarray] | None = None

        def pump() -> bool:
            pub.send_image("pub-cam", image)
            return hub.latest("pub-cam") is not None

        wait_until(pump, timeout=5)
        got = ihub.recv_image(timeout=5)
        assert got[0] == "pub-cam" and np.array_equal(got[1], image)
    finally:
        hub.stop()
        ihub.close()
        pub.close()


# -- camhub senders -> imagezmq hubs --------------------------------------------------


def _imagezmq_hub_thread(
    n: int, out: list[tuple[str, object]], jpg: bool
) -> tuple[str, threading.Event]:
    """A real imagezmq ImageHub serving ``n`` frames, on a port the OS picked (its
    endpoint is returned); it closes once the returned event is set (closing straight
    after the last reply could lose that reply)."""
    done = threading.Event()
    h = imagezmq.ImageHub(open_port="tcp://127.0.0.1:*")  # used by the thread only from now

    def run() -> None:
        try:
            for _ in range(n):
                out.append(h.recv_jpg() if jpg else h.recv_image())
                h.send_reply(b"OK")
            done.wait(10)
        finally:
            h.close()
            done.set()

    threading.Thread(target=run, daemon=True).start()
    return last_endpoint(h.zmq_socket), done


@pytest.mark.parametrize("jpg", [False, True], ids=["raw", "jpeg"])
def test_camhub_imagesender_to_imagezmq_hub(jpg: bool, image: np.ndarray, jpeg: bytes) -> None:
    out: list[tuple[str, object]] = []
    endpoint, done = _imagezmq_hub_thread(3, out, jpg)
    with camhub.ImageSender(endpoint) as sender:
        for i in range(3):
            reply = sender.send_jpg(f"c{i}", jpeg) if jpg else sender.send_image(f"c{i}", image)
            assert reply == b"OK"
    done.set()
    assert [name for name, _ in out] == ["c0", "c1", "c2"]
    for _, payload in out:
        if jpg:
            assert bytes(payload) == jpeg  # type: ignore[call-overload]
        else:
            assert np.array_equal(payload, image)  # type: ignore[arg-type]


def test_pipelined_native_sender_to_imagezmq_hub(jpeg: bytes) -> None:
    out: list[tuple[str, object]] = []
    endpoint, done = _imagezmq_hub_thread(20, out, True)
    with camhub.Sender(endpoint, window=4) as sender:
        for i in range(20):
            assert sender.send_jpeg(f"p{i}", jpeg)
        assert sender.flush(5)
        assert sender.stats.acked == 20
    done.set()
    assert [n for n, _ in out] == [f"p{i}" for i in range(20)]


def test_camhub_publisher_to_imagezmq_sub_hub(image: np.ndarray) -> None:
    port = free_port()
    sender = camhub.ImageSender(f"tcp://127.0.0.1:{port}", REQ_REP=False)
    received: list[tuple[str, np.ndarray]] = []
    stop = threading.Event()

    def run() -> None:
        h = imagezmq.ImageHub(open_port=f"tcp://127.0.0.1:{port}", REQ_REP=False)
        received.append(h.recv_image())
        h.close()
        stop.set()

    threading.Thread(target=run, daemon=True).start()
    deadline = time.monotonic() + 5
    while not stop.is_set() and time.monotonic() < deadline:
        sender.send_image("pub", image)  # PUB drops until the SUB has joined
        time.sleep(0.02)
    sender.close()
    assert received and received[0][0] == "pub" and np.array_equal(received[0][1], image)


def test_tutorial_code_runs_unchanged_with_camhub(tmp_path: object) -> None:
    """imagezmq's tutorial hub and sender, with only the import line changed."""
    port = free_port()
    hub_code = textwrap.dedent(
        f"""
        import camhub as imagezmq
        image_hub = imagezmq.ImageHub(open_port='tcp://*:{port}')
        for _ in range(5):
            rpi_name, image = image_hub.recv_image()
            assert image.shape == (240, 320, 3)
            image_hub.send_reply(b'OK')
        print('hub got', rpi_name)
        """
    )
    sender_code = textwrap.dedent(
        f"""
        import socket, numpy as np
        import camhub as imagezmq
        sender = imagezmq.ImageSender(connect_to='tcp://127.0.0.1:{port}')
        rpi_name = socket.gethostname()
        image = np.zeros((240, 320, 3), np.uint8)
        for _ in range(5):
            sender.send_image(rpi_name, image)
        print('sender done')
        """
    )
    hub_p = subprocess.Popen([sys.executable, "-c", hub_code], stdout=subprocess.PIPE, text=True)
    time.sleep(0.3)
    out = subprocess.run(
        [sys.executable, "-c", sender_code], capture_output=True, text=True, timeout=30
    )
    hub_out, _ = hub_p.communicate(timeout=30)
    assert out.returncode == 0, out.stderr
    assert "sender done" in out.stdout and "hub got" in hub_out
