"""A source kind is one module and one registration line: registered, the test-only
``noise://`` kind (tests/sources/noise.py) is parsed, validated in a fleet file, listed in
``camhub send --help`` and in the "unknown scheme" error, opened by ``camhub send``, read
by a hub from its config, with no edit to camhub."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator

import numpy as np
import pytest

import camhub
from camhub import sources
from camhub.config import ConfigError, parse_config
from camhub.jpeg import decode_jpeg
from camhub.service import HubService
from camhub.sources import (
    SourceForm,
    SourceKind,
    SourceURIError,
    open_source,
    parse_source,
    register_source,
    source_kinds,
)
from camhub.sources import registry as source_registry
from camhub.types import ArgumentError
from tests.cli_proc import run_cli
from tests.conftest import wait_until
from tests.sources.noise import NOISE, NoiseSource

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def noise(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    source_kinds()  # the built-ins first, so that the copy below holds them
    monkeypatch.setattr(source_registry, "_KINDS", dict(source_registry._KINDS))
    register_source(NOISE)  # the one registration line
    yield
    monkeypatch.undo()


@pytest.mark.usefixtures("noise")
def test_a_new_kind_is_parsed_and_opened() -> None:
    spec = parse_source("noise://?size=64x48&fps=30")
    assert (spec.kind, spec.width, spec.height, spec.fps) == ("noise", 64, 48, 30.0)
    assert sources.default_name(spec) == "noise"
    camera = open_source("noise://?size=64x48&fps=30", "static")
    try:
        assert isinstance(camera, NoiseSource)
        first, second = camera.read(5), camera.read(5)
        assert first.array is not None and second.array is not None
        assert first.array.shape == (48, 64, 3)
        assert not np.array_equal(first.array, second.array)  # fresh noise each frame
    finally:
        camera.stop()


@pytest.mark.usefixtures("noise")
@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("noise://?size=8x8", "size must be"),
        ("noise://?size=big", "size must be"),
        ("noise://?fps=0", "fps must be"),
        ("noise://?fps=fast", "fps must be"),
        ("noise://?colour=red", "unknown option 'colour'"),
        ("noise://host/path", "expected noise://"),
    ],
)
def test_a_new_kind_checks_its_options(text: str, words: str) -> None:
    with pytest.raises(SourceURIError, match=words):
        parse_source(text)


def test_without_its_registration_the_scheme_is_unknown() -> None:
    with pytest.raises(SourceURIError, match="unknown scheme 'noise'") as info:
        parse_source("noise://")
    assert "rtsp" in str(info.value) and "noise" not in str(info.value).partition(";")[2]


@pytest.mark.usefixtures("noise")
def test_a_new_kind_is_among_the_known_schemes() -> None:
    with pytest.raises(SourceURIError, match=r"did you mean 'noise'\?.*noise") as info:
        parse_source("nois://")
    assert "rtsp, rtsps" in str(info.value)


@pytest.mark.usefixtures("noise")
def test_a_new_kind_shows_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_cli(capsys, "send", "--help")
    assert code == 0
    assert "noise://[?size=WxH&fps=N]" in out and "random noise (tests only)" in out
    assert "testsrc[:WxH@FPS]" in out  # beside the built-ins
    code, out = run_cli(capsys, "hub", "--help")
    assert code == 0 and "noise://" in out


@pytest.mark.usefixtures("noise")
def test_a_new_kind_is_validated_in_a_fleet_file() -> None:
    good = '[[cameras]]\nname = "static"\nsource = "noise://?size=64x48"\n'
    (camera,) = parse_config(good, "fleet.toml").cameras
    assert camera.source == "noise://?size=64x48"
    with pytest.raises(ConfigError, match=r"fleet.toml:3: cameras\[0\].source: .*size must be"):
        parse_config(good.replace("64x48", "8x8"), "fleet.toml")


@pytest.mark.usefixtures("noise")
def test_camhub_send_streams_a_new_kind_to_a_hub(
    hub: camhub.Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    """``camhub send noise://...`` in this process (its SIGINT handling included): the
    hub gets noise pictures of the asked size under the given name."""
    got: list[camhub.Frame] = []

    def stop_when_received() -> None:
        wait_until(lambda: _count(hub, "static") >= 3, timeout=30)
        frame = hub.latest("static")
        if frame is not None:
            got.append(frame)
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C: camhub send stops cleanly

    watcher = threading.Thread(target=stop_when_received, daemon=True)
    watcher.start()
    code, _ = run_cli(
        capsys,
        "send",
        "noise://?size=64x48&fps=20",
        "--hub",
        hub.endpoint,
        "--name",
        "static",
        "--codec",
        "jpeg",
    )
    watcher.join(10)
    assert code == 0
    (frame,) = got
    assert frame.jpeg is not None and decode_jpeg(frame.jpeg).shape == (48, 64, 3)


def _count(hub: camhub.Hub, name: str) -> int:
    stats = hub.camera_stats(name)
    return 0 if stats is None else stats.frames


@pytest.mark.usefixtures("noise")
def test_a_hub_reads_a_new_kind_from_its_config() -> None:
    text = (
        '[hub]\nbind = "tcp://127.0.0.1:0"\ndashboard = false\nkeep_data = false\n\n'
        '[hub.record]\nmode = "off"\n\n'
        '[[cameras]]\nname = "static"\nsource = "noise://?size=32x32&fps=20"\npull = true\n'
    )
    service = HubService(parse_config(text, "hub.toml")).start()
    try:
        assert service.hub is not None
        hub = service.hub
        assert wait_until(lambda: hub.latest("static") is not None, timeout=20)
        frame = hub.latest("static")
        assert frame is not None and (frame.width, frame.height) == (32, 32)
    finally:
        service.stop()


def test_a_kind_cannot_take_a_scheme_another_owns() -> None:
    source_kinds()
    thief = SourceKind("thief", NOISE.open, NOISE.parse, schemes=("https",))
    with pytest.raises(ArgumentError, match="https already belongs to 'mjpeg'"):
        register_source(thief)
    with pytest.raises(ArgumentError, match="short lower-case word"):
        register_source(SourceKind("No Good", NOISE.open))
    assert "thief" not in {k.name for k in source_kinds()}


def test_every_built_in_kind_has_help_and_opens_what_it_parses() -> None:
    kinds = {k.name: k for k in source_kinds()}
    builtin = {"rtsp", "mjpeg", "snapshot", "ipwebcam", "webcam", "file", "testsrc", "picamera"}
    assert builtin | {"scene"} <= set(kinds)
    assert all(isinstance(f, SourceForm) and f.help for k in kinds.values() for f in k.forms)
    for text in ["rtsp://cam/x", "http://cam/video", "http://cam/shot.jpg", "ipwebcam://p",
                 "droidcam://p", "0", "/dev/video1", "clip.mp4", "testsrc", "picamera:1",
                 "scene:porch"]:  # fmt: skip
        assert parse_source(text).kind in kinds
