"""Session descriptions as cameras write them: GStreamer's (what tests/servers/rtsp_server.py
serves), an IP camera's with absolute control URLs and audio first, and an H.265 one."""

from __future__ import annotations

import base64

import pytest

from camhub.sources.sdp import SDPError, parse_sdp
from camhub.video.packet import h264_sps_size, hevc_type

GSTREAMER = """v=0
o=- 2997606910600537050 1 IN IP4 127.0.0.1
s=Session streamed with GStreamer
t=0 0
a=control:*
a=range:npt=now-
m=video 0 RTP/AVP 96
c=IN IP4 0.0.0.0
a=rtpmap:96 H264/90000
a=framerate:15
a=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z0LAFdoFB+wFqDAwNSgAAAMACAAAAwD0eLF1,aM48gA==;profile-level-id=42c015
a=control:stream=0
"""

IP_CAMERA = """v=0\r
o=- 1 1 IN IP4 192.168.1.64\r
s=Media Presentation\r
a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/?transportmode=unicast\r
m=audio 0 RTP/AVP 0\r
a=rtpmap:0 PCMU/8000\r
a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=2?transportmode=unicast\r
m=video 0 RTP/AVP 97\r
a=rtpmap:96 JPEG/90000\r
a=rtpmap:97 H265/90000\r
a=fmtp:97 sprop-vps=QAEMAf//AWAAAAMAAAMAAAMAAAMAlqwJ; sprop-sps=QgEBAWAAAAMAAAMAAAMAAAMAlqADwIAQ5Za5JMiuAQ==; sprop-pps=RAHA8vA8kA==\r
a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=1?transportmode=unicast\r
"""


def test_gstreamer_description() -> None:
    session = parse_sdp(GSTREAMER)
    media = session.video()
    assert media is not None
    assert (media.codec, media.payload_type, media.clock_rate) == ("h264", 96, 90_000)
    sps, pps = media.parameter_sets()
    assert h264_sps_size(sps) == (320, 240) and pps[0] & 0x1F == 8
    base = "rtsp://127.0.0.1:8554/h264_ulaw.sdp/"
    assert media.url(base) == base + "stream=0"
    assert session.url(base) == base
    assert media.url(base.rstrip("/")) == base + "stream=0"


def test_ip_camera_description_with_absolute_controls_and_audio_first() -> None:
    session = parse_sdp(IP_CAMERA)
    media = session.video()
    assert media is not None and media.codec == "hevc" and media.encoding == "H265"
    assert media.url("rtsp://ignored/") == (
        "rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=1?transportmode=unicast"
    )
    assert session.url("rtsp://ignored/").endswith("/101/?transportmode=unicast")
    assert [hevc_type(u) for u in media.parameter_sets()] == [32, 33, 34]


def test_a_video_codec_camhub_does_not_pass_through_is_still_found() -> None:
    text = "v=0\nm=video 0 RTP/AVP 26\na=rtpmap:26 JPEG/90000\n"
    media = parse_sdp(text).video()
    assert media is not None and media.codec is None and media.encoding == "JPEG"


def test_bad_base64_in_parameter_sets_is_skipped() -> None:
    good = base64.b64encode(b"\x68\xce\x3c\x80").decode()
    text = (
        f"m=video 0 RTP/AVP 96\na=rtpmap:96 H264/90000\na=fmtp:96 sprop-parameter-sets=!!,{good}\n"
    )
    media = parse_sdp(text).video()
    assert media is not None and media.parameter_sets() == [b"\x68\xce\x3c\x80"]


@pytest.mark.parametrize(
    ("text", "why"),
    [("v=0\ns=nothing\n", "no media"), ("m=video 0 RTP/AVP\n", "malformed media line")],
)
def test_unusable_descriptions_say_why(text: str, why: str) -> None:
    with pytest.raises(SDPError, match=why):
        parse_sdp(text)


def test_audio_only_has_no_video() -> None:
    assert parse_sdp("m=audio 0 RTP/AVP 0\na=rtpmap:0 PCMU/8000\n").video() is None
