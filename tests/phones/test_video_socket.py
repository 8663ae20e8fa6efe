"""Video chunks (as the page's WebCodecs encoder makes them) over the real frame
WebSocket: they become video frames the hub decodes on demand; a chunk the phone dropped
breaks its group at the hub, not the pictures; a bad chunk closes that phone with a
reason and the hub goes on."""

from __future__ import annotations

import json
import time

import pytest
from websockets.sync.client import ClientConnection

from camhub.phones.wire import encode_chunk
from camhub.video.packet import VideoPacket
from tests.phones.conftest import PhoneHub
from tests.phones.test_socket import client, closed_with
from tests.video.coded import encode, scene
from tests.web.conftest import wait_until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def h264() -> list[VideoPacket]:
    return encode("h264", scene(12), gop=6)


def send(ws: ClientConnection, packet: VideoPacket, seq: int) -> dict[str, object]:
    ws.send(encode_chunk(packet, seq, time.time(), 320, 240))
    reply: dict[str, object] = json.loads(ws.recv(timeout=10))
    return reply


def test_h264_chunks_become_video_frames_that_decode(
    phone_hub: PhoneHub, h264: list[VideoPacket]
) -> None:
    ws, welcome = phone_hub.open(phone_hub.device("webcodecs"))
    assert "h264" in welcome["video"] and "vp8" in welcome["video"]
    for seq, packet in enumerate(h264):
        assert send(ws, packet, seq)["type"] == "ack"
    stats = phone_hub.hub.camera_stats("webcodecs")
    assert stats is not None and stats.encoding == "h264" and stats.frames == len(h264)
    assert (stats.width, stats.height) == (320, 240) and stats.broken == 0
    latest = phone_hub.hub.latest("webcodecs")
    assert latest is not None and latest.video is not None
    picture = latest.image
    assert picture.shape == (240, 320, 3) and picture.std() > 10  # a scene, not a flat fill
    assert client(phone_hub, "webcodecs")["encoding"] == "h264"


def test_a_chunk_the_phone_dropped_breaks_the_rest_of_its_group(
    phone_hub: PhoneHub, h264: list[VideoPacket]
) -> None:
    assert [p.keyframe for p in h264[:7]] == [True, False, False, False, False, False, True]
    ws, _ = phone_hub.open(phone_hub.device("lossy"))
    for seq in (0, 1, 3, 4, 5, 6, 7):  # chunk 2 never left the phone
        assert send(ws, h264[seq], seq)["type"] == "ack"
    stats = phone_hub.hub.camera_stats("lossy")
    assert stats is not None and stats.dropped == 1
    assert stats.broken == 3  # 3, 4 and 5 depend on the lost chunk; 6 is a keyframe
    latest = phone_hub.hub.latest("lossy")
    assert latest is not None and latest.seq == 7 and latest.image.shape == (240, 320, 3)


def test_a_bad_keyframe_closes_the_phone_with_a_reason_and_the_hub_goes_on(
    phone_hub: PhoneHub, h264: list[VideoPacket]
) -> None:
    ws, _ = phone_hub.open(phone_hub.device("broken"))
    fake = VideoPacket("h264", h264[1].data, keyframe=True)  # a delta claiming to be a key
    ws.send(encode_chunk(fake, 0, time.time(), 320, 240))
    code, reason = closed_with(ws)
    assert code == 1007 and "not one" in reason
    assert client(phone_hub, "broken")["malformed"] == 1
    # A garbage delta chunk passes the envelope (nothing reads it before a decoder does)
    # and must cost only its own group.
    ws2, _ = phone_hub.open(phone_hub.device("noisy"))
    garbage = VideoPacket("h264", b"\x00\x00\x00\x01\x41" + bytes(range(256)) * 8, False)
    assert send(ws2, h264[0], 0)["type"] == "ack"
    first = phone_hub.hub.latest("noisy")
    assert first is not None and first.image.shape == (240, 320, 3)  # its decoder runs now
    for seq, packet in enumerate([garbage, *h264[2:7]], start=1):
        assert send(ws2, packet, seq)["type"] == "ack"
    wait_until(
        lambda: (f := phone_hub.hub.latest("noisy")) is not None and f.seq == 6,
        what="a picture after the bad group",
    )
    latest = phone_hub.hub.latest("noisy")
    assert latest is not None and latest.image.shape == (240, 320, 3)
