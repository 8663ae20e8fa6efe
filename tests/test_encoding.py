"""What a camera sends, frame by frame (``--codec`` and what the hub takes), on real coded
video: libx264 through camhub's encoder as the camera, libx265 for a codec the hub may
not take."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import av
import pytest

from camhub.agent import CameraJob
from camhub.encoding import FrameEncoder
from camhub.jpeg import decode_jpeg, encode_jpeg
from camhub.types import ArgumentError, Frame
from camhub.video.encoder import H264Encoder
from camhub.video.packet import CODECS, Codec, VideoPacket, coded_size
from tests.video.media import Scene

SCENE = Scene(160, 120)


def camera(count: int, keyframe_every: int = 5) -> Iterator[Frame]:
    """A camera's own H.264, numbered as a source numbers its frames."""
    encoder = H264Encoder(keyframe_interval=keyframe_every / 10 - 0.01)
    for i in range(count):
        packet = encoder.encode(SCENE.frame(i), 10.0 + i / 10)
        yield Frame(name="cam", video=packet, seq=i + 1, captured_at=10.0 + i / 10)


def hevc_camera(count: int) -> Iterator[Frame]:
    ctx: Any = av.CodecContext.create("libx265", "w")
    ctx.width, ctx.height, ctx.pix_fmt = 160, 120, "yuv420p"
    ctx.time_base = Fraction(1, 10)
    ctx.options = {"preset": "ultrafast", "tune": "zerolatency", "x265-params": "log-level=0"}
    for i in range(count):
        frame = av.VideoFrame.from_ndarray(SCENE.frame(i), format="bgr24").reformat(
            format="yuv420p"
        )
        frame.pts = i
        for p in ctx.encode(frame):
            packet = VideoPacket("hevc", bytes(p), bool(p.is_keyframe))
            yield Frame(name="cam", video=packet, seq=i + 1, captured_at=10.0 + i / 10)


def takes(*codecs: Codec) -> Any:
    return lambda codec: codec in codecs


def test_offers() -> None:
    assert FrameEncoder(CameraJob("cam", "x")).offer() == CODECS
    assert FrameEncoder(CameraJob("cam", "x", codec="h264")).offer() == ("h264",)
    assert FrameEncoder(CameraJob("cam", "x", codec="jpeg")).offer() == ()
    assert FrameEncoder(CameraJob("cam", "x", encoding="raw")).offer() == ()
    with pytest.raises(ArgumentError, match="codec must be one of auto, h264, jpeg"):
        CameraJob("cam", "x", codec="av1")  # type: ignore[arg-type]


def test_packets_become_jpeg_until_the_hub_takes_video_then_pass_at_a_keyframe() -> None:
    encoder = FrameEncoder(CameraJob("cam", "rtsp://x"))
    frames = list(camera(12))  # keyframes at 0, 5, 10
    out = [encoder.encode(f, takes()) for f in frames[:3]]
    assert all(o is not None and o.encoding == "jpeg" for o in out)
    assert decode_jpeg(out[0].jpeg or b"").shape == (120, 160, 3)  # type: ignore[union-attr]
    assert out[2] is not None and out[2].captured_at == frames[2].captured_at
    # The hub answers: JPEG until the camera's next keyframe, then its own packets.
    out = [encoder.encode(f, takes("h264")) for f in frames[3:]]
    assert [o.encoding if o else None for o in out] == ["jpeg", "jpeg"] + ["h264"] * 7
    assert all(o.video is f.video for o, f in zip(out[2:], frames[5:], strict=True) if o)
    assert encoder.mode == "h264" and encoder.decoded == 5


def test_a_busy_sender_decodes_every_packet_but_encodes_only_the_newest() -> None:
    encoder = FrameEncoder(CameraJob("cam", "rtsp://x"))
    frames = list(camera(4))
    out = [encoder.encode(f, takes(), more=i < 3) for i, f in enumerate(frames)]
    assert out[:3] == [None, None, None] and out[3] is not None
    assert encoder.decoded == 4


def test_after_a_reconnect_to_a_hub_without_video_jpeg_resumes_at_a_keyframe() -> None:
    encoder = FrameEncoder(CameraJob("cam", "rtsp://x"))
    frames = list(camera(12))
    assert all(encoder.encode(f, takes("h264")) is not None for f in frames[:7])
    out = [encoder.encode(f, takes()) for f in frames[7:]]
    # Its decoder never saw packets 1-6: pictures resume at the keyframe (frame 10).
    assert [o.encoding if o else None for o in out] == [None, None, None, "jpeg", "jpeg"]


def test_a_codec_the_hub_does_not_take_is_transcoded_to_h264() -> None:
    encoder = FrameEncoder(CameraJob("cam", "rtsp://x"))
    out = [encoder.encode(f, takes("h264")) for f in hevc_camera(6)]
    sent = [o for o in out if o is not None]
    assert sent and all(o.encoding == "h264" for o in sent)
    assert sent[0].video is not None and sent[0].video.keyframe
    assert coded_size("h264", sent[0].video.data) == (160, 120)
    assert [
        o.encoding for o in (encoder.encode(f, takes("hevc", "h264")) for f in hevc_camera(2)) if o
    ] == ["hevc", "hevc"]


def test_pictures_become_h264_for_a_hub_that_takes_it_else_jpeg() -> None:
    encoder = FrameEncoder(CameraJob("cam", "0"))
    pictures = [Frame(name="cam", array=SCENE.frame(i), captured_at=5.0 + i / 10) for i in range(4)]
    jpeg = encoder.encode(pictures[0], takes())
    assert jpeg is not None and jpeg.encoding == "jpeg"
    video = [encoder.encode(p, takes("h264")) for p in pictures[1:]]
    assert [v.encoding if v else None for v in video] == ["h264"] * 3
    assert video[0] is not None and video[0].video is not None and video[0].video.keyframe
    assert video[0].captured_at == 5.1 and (video[0].width, video[0].height) == (160, 120)
    encoder.keyframe_needed("cam")  # the hub lost a packet
    again = encoder.encode(pictures[0], takes("h264"))
    assert again is not None and again.video is not None and again.video.keyframe


def test_mjpeg_cameras_keep_their_jpegs_unless_h264_is_asked_for() -> None:
    jpeg = encode_jpeg(SCENE.frame(1), quality=70)
    frame = Frame(name="cam", jpeg=jpeg, width=160, height=120, captured_at=3.0)
    auto = FrameEncoder(CameraJob("cam", "http://x/video"), own_jpeg=True)
    out = auto.encode(frame, takes("h264"))
    assert out is not None and out.jpeg is jpeg
    h264 = FrameEncoder(CameraJob("cam", "http://x/video", codec="h264"), own_jpeg=True)
    out = h264.encode(frame, takes("h264"))
    assert out is not None and out.encoding == "h264"
    # The test pattern's JPEGs are not a camera's: auto makes them H.264.
    pattern = FrameEncoder(CameraJob("cam", "testsrc"))
    out = pattern.encode(frame, takes("h264"))
    assert out is not None and out.encoding == "h264"


def test_jpeg_raw_and_a_pulling_hub_never_encode_video() -> None:
    picture = Frame(name="cam", array=SCENE.frame(0), captured_at=1.0)
    jpeg_only = FrameEncoder(CameraJob("cam", "0", codec="jpeg"))
    raw = FrameEncoder(CameraJob("cam", "0", encoding="raw"))
    pulled = FrameEncoder(CameraJob("cam", "0"), encode=False)
    for encoder, kind in [(jpeg_only, "jpeg"), (raw, "raw"), (pulled, "jpeg")]:
        out = encoder.encode(picture, takes(*CODECS))
        assert out is not None and out.encoding == kind
    # A pulling hub still takes a camera's own video as it is.
    packet = next(camera(1))
    out = pulled.encode(packet, takes(*CODECS))
    assert out is not None and out.video is packet.video


def test_width_shrinks_pictures_before_h264() -> None:
    encoder = FrameEncoder(CameraJob("cam", "0", width=80))
    out = encoder.encode(Frame(name="cam", array=SCENE.frame(0)), takes("h264"))
    assert out is not None and out.video is not None
    assert coded_size("h264", out.video.data) == (80, 60)
    assert not CameraJob("cam", "rtsp://x", width=80).packets
