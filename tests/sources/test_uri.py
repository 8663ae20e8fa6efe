"""Source strings: every documented form, and clear errors at once for bad ones."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from camhub.sources import SourceURIError, default_name, open_source, parse_source, redact
from camhub.sources.ipwebcam import ipwebcam_fallbacks


@pytest.mark.parametrize(
    ("text", "kind", "url"),
    [
        ("rtsp://10.0.0.5:8554/live", "rtsp", "rtsp://10.0.0.5:8554/live"),
        ("rtsps://cam.local/stream1", "rtsp", "rtsps://cam.local/stream1"),
        ("http://10.0.0.7:8080/video", "mjpeg", "http://10.0.0.7:8080/video"),
        ("https://cam.example/mjpg/video.mjpg", "mjpeg", "https://cam.example/mjpg/video.mjpg"),
        ("http://10.0.0.7:8080", "mjpeg", "http://10.0.0.7:8080/video"),
        ("http://10.0.0.7:8080/", "mjpeg", "http://10.0.0.7:8080/video"),
        ("http://10.0.0.7:8080/shot.jpg", "snapshot", "http://10.0.0.7:8080/shot.jpg"),
        ("http://10.0.0.7/cgi/snap.JPEG", "snapshot", "http://10.0.0.7/cgi/snap.JPEG"),
        ("ipwebcam://10.0.0.7", "ipwebcam", "rtsp://10.0.0.7:8080/h264_ulaw.sdp"),
        ("ipwebcam://10.0.0.7:9000", "ipwebcam", "rtsp://10.0.0.7:9000/h264_ulaw.sdp"),
        ("ipwebcam://10.0.0.7?mode=mjpeg", "mjpeg", "http://10.0.0.7:8080/video"),
        ("ipwebcam://10.0.0.7?mode=rtsp", "rtsp", "rtsp://10.0.0.7:8080/h264_ulaw.sdp"),
        ("ipwebcam://10.0.0.7?mode=snapshot", "snapshot", "http://10.0.0.7:8080/shot.jpg"),
        ("droidcam://10.0.0.8", "mjpeg", "http://10.0.0.8:4747/video"),
        ("droidcam://10.0.0.8:4848", "mjpeg", "http://10.0.0.8:4848/video"),
        ("0", "webcam", "0"),
        ("1", "webcam", "1"),
        ("/dev/video2", "webcam", "/dev/video2"),
        ("clip.mp4", "file", "clip.mp4"),
        ("videos/garden.mkv", "file", "videos/garden.mkv"),
        ("file:///tmp/clip%20one.mp4", "file", "/tmp/clip one.mp4"),
        ("testsrc", "testsrc", "testsrc"),
        ("picamera", "picamera", "picamera"),
        ("picamera:1", "picamera", "picamera:1"),
    ],
)
def test_every_documented_form(text: str, kind: str, url: str) -> None:
    spec = parse_source(text)
    assert (spec.kind, spec.url) == (kind, url)


def test_webcam_index_as_int() -> None:
    spec = parse_source(1)
    assert (spec.kind, spec.index) == ("webcam", 1)


@pytest.mark.parametrize(
    ("text", "size", "fps"),
    [
        ("testsrc", (640, 480), 15.0),
        ("testsrc:320x240", (320, 240), 15.0),
        ("testsrc:640x480@30", (640, 480), 30.0),
        ("testsrc:@5", (640, 480), 5.0),
    ],
)
def test_testsrc_forms(text: str, size: tuple[int, int], fps: float) -> None:
    spec = parse_source(text)
    assert (spec.width, spec.height) == size
    assert spec.fps == fps


def test_credentials_are_kept_for_use_and_hidden_from_view() -> None:
    spec = parse_source("http://admin:s3cr%40t@10.0.0.7:8080/video")
    assert (spec.username, spec.password) == ("admin", "s3cr@t")
    assert "s3cr" not in spec.display and "s3cr" not in repr(spec) and "s3cr" not in str(spec)
    assert spec.display == "http://admin:***@10.0.0.7:8080/video"
    shortcut = parse_source("ipwebcam://me:hunter22@10.0.0.7?mode=rtsp")
    assert shortcut.url == "rtsp://me:hunter22@10.0.0.7:8080/h264_ulaw.sdp"
    assert "hunter22" not in shortcut.display
    rtsp, mjpeg = ipwebcam_fallbacks(parse_source("ipwebcam://me:hunter22@10.0.0.7"))
    assert [s.url for s in rtsp] == [
        "rtsp://me:hunter22@10.0.0.7:8080/h264_ulaw.sdp",
        "rtsp://me:hunter22@10.0.0.7:8080/h264_pcm.sdp",
    ]
    assert mjpeg.url == "http://me:hunter22@10.0.0.7:8080/video"
    assert all("hunter22" not in s.display for s in [*rtsp, mjpeg])
    auto = parse_source("ipwebcam://me:hunter22@10.0.0.7")
    assert auto.display == "ipwebcam://me:***@10.0.0.7:8080" and auto.secrets()[auto.url]


@given(
    user=st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=8),
    password=st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=4, max_size=12),
    scheme=st.sampled_from(["rtsp", "http", "https", "ipwebcam", "droidcam"]),
)
def test_redaction_never_shows_the_password(user: str, password: str, scheme: str) -> None:
    text = f"{scheme}://{user}:{password}@host.lan:1234/path"
    spec = parse_source(text)
    assert spec.password == password
    assert f":{password}@" not in spec.display
    assert f":{password}@" not in redact(text)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty source"),
        ("   ", "empty source"),
        ("http://", "no host"),
        ("http:///video", "no host"),
        ("rtsp://:554/live", "no host"),
        ("http://cam:99999/video", "malformed URL"),
        ("http://cam:port/video", "malformed URL"),
        ("http://[::1/video", "malformed URL"),
        ("http://my cam/video", "whitespace"),
        ("http:/cam/video", "expected http://HOST"),
        ("http://cam:0/video", "port 0"),
        ("http://ca$m/video", "bad host name"),
        ("testsrc:640x", "bad test pattern"),
        ("testsrc:641x480", "even"),
        ("testsrc:640x480@0", "fps"),
        ("testsrc:8x8", "size"),
        ("picamera:x", "Pi camera"),
        ("ipwebcam://10.0.0.7?mode=h265", "ipwebcam mode"),
        ("99", "webcam index"),
        ("webcam", "unknown source"),
    ],
)
def test_malformed_sources_fail_at_once_with_a_clear_message(text: str, words: str) -> None:
    started = time.monotonic()
    with pytest.raises(SourceURIError, match=words):
        open_source(text)
    assert time.monotonic() - started < 0.5  # no network, no retries


@pytest.mark.parametrize("text", ["ftp://cam/video", "rtmp://cam/live", "foo://bar", "udp://x:1"])
def test_unknown_scheme_names_the_scheme_and_the_choices(text: str) -> None:
    with pytest.raises(SourceURIError) as info:
        open_source(text)
    message = str(info.value)
    assert f"unknown scheme {text.split(':')[0]!r}" in message
    assert "rtsp" in message and "ipwebcam" in message


def test_error_messages_do_not_leak_passwords() -> None:
    with pytest.raises(SourceURIError) as info:
        parse_source("http://admin:topsecret@cam:99999/video")
    assert "topsecret" not in str(info.value)
    with pytest.raises(SourceURIError) as info:
        parse_source("gopher://admin:topsecret@cam/video")
    assert "topsecret" not in str(info.value)


def test_missing_video_file_fails_at_once(tmp_path: object) -> None:
    with pytest.raises(Exception, match="does not exist"):
        open_source("/nonexistent/dir/clip.mp4")


def test_not_a_string() -> None:
    with pytest.raises(SourceURIError, match="string or a webcam index"):
        parse_source(3.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("http://phone1.lan:8080/video", "phone1.lan"),
        ("rtsp://user:pw@10.0.0.9/x", "10.0.0.9"),
        ("0", "webcam0"),
        ("/dev/video3", "webcam3"),
        ("garden/clip.mp4", "clip"),
        ("testsrc:320x240", "testsrc"),
    ],
)
def test_default_names(text: str, name: str) -> None:
    assert default_name(parse_source(text)) == name
