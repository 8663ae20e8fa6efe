"""A sink or a detector backend brings its own config section: registered once, it is
accepted in a fleet file (``[[notify]]``, ``[detect.detector]``) and validated there with
``file:line`` errors, with no edit to camhub's config code."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal

import pytest
from pydantic import Field

import camhub
from camhub.config import ConfigError, parse_config
from camhub.detect import base as detect_base
from camhub.detect.base import BackendConfig, Box, Detector
from camhub.notify import base as notify_base
from camhub.notify.setup import build_sinks
from camhub.section import refresh
from camhub.service import HubService
from camhub.types import Image
from tests.notify.pager import PagerSettings, PagerSink

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def pager(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(notify_base, "_REGISTRY", dict(notify_base._REGISTRY))
    notify_base.register(PagerSink)  # the one registration line
    yield
    monkeypatch.undo()
    refresh()  # the config models forget the test sink again


PAGER = (
    '[hub]\nbind = "tcp://127.0.0.1:0"\n\n[[notify]]\ntype = "pager"\nnumber = "+4915112345678"\n'
)


@pytest.mark.usefixtures("pager")
def test_a_new_sink_is_configured_by_file() -> None:
    config = parse_config(PAGER, "hub.toml")
    (section,) = config.sinks()
    assert isinstance(section, PagerSettings) and section.number == "+4915112345678"
    (sink,) = build_sinks(config.sinks())
    assert isinstance(sink, PagerSink) and sink.name == "pager-5678"


@pytest.mark.usefixtures("pager")
@pytest.mark.parametrize(
    ("change", "where"),
    [
        (('"+4915112345678"', '"0151-12345678"'), "hub.toml:6: notify[0].number: String should match"),
        (("number =", "numbr ="), "hub.toml:6: notify[0].numbr: unknown key; known keys here: type, number, pin, quiet"),
        (('number = "+4915112345678"\n', ""), "hub.toml:4: notify[0].number: required key is missing"),
        (('"pager"', '"pagr"'), "hub.toml:4: notify[0]: unknown type 'pagr' (known: mqtt, pager, webhook)"),
        (("\n[[notify]]", '\n[[notify]]\npin = "9876543210"'), "hub.toml:5: notify[0].pin: String should have at most 8"),
    ],
)  # fmt: skip
def test_a_new_sink_is_validated_with_file_and_line(change: tuple[str, str], where: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(PAGER.replace(*change), "hub.toml")
    assert where in str(info.value)
    assert "9876543210" not in str(info.value)  # its secret field is not echoed


def test_without_its_registration_the_sink_is_unknown() -> None:
    with pytest.raises(ConfigError, match=r"unknown type 'pager' \(known: mqtt, webhook\)"):
        parse_config(PAGER, "hub.toml")


@pytest.mark.usefixtures("pager")
def test_a_hub_runs_the_new_sink_from_its_config() -> None:
    config = parse_config(PAGER + '\n[hub.record]\nmode = "off"\n', "hub.toml")
    config = config.model_copy(
        update={"hub": config.hub.model_copy(update={"dashboard": False, "keep_data": False})}
    )
    service = HubService(config).start()
    try:
        (sink,) = service.sinks
        assert isinstance(sink, PagerSink) and service.hub is not None
        with camhub.Sender(service.hub.endpoint) as sender:
            sender.send_jpeg("porch", camhub.encode_jpeg(_grey()))
            assert sender.flush(5)
        assert sink.got.wait(10)
        assert "porch camera_new" in sink.paged
    finally:
        service.stop()


def _grey() -> Image:
    import numpy as np

    return np.full((48, 64, 3), 128, np.uint8)


# -- a detector backend ----------------------------------------------------------------------


class FixedSettings(BackendConfig):
    """A detector that reports one fixed box (tests only)."""

    type: Literal["fixed_for_test"] = "fixed_for_test"
    label: str = Field(default="person", min_length=1, description="Label of the box.")
    size: int = Field(default=32, ge=1, le=4096, description="Box side in pixels.")


class FixedDetector(Detector):
    type_name = "fixed_for_test"
    config = FixedSettings

    def __init__(self, label: str = "person", size: int = 32) -> None:
        self.labels, self.input_size, self.size = [label], (64, 64), size

    def detect(self, images: Sequence[Image]) -> list[list[Box]]:
        return [[Box(0, 0, self.size, self.size, self.labels[0], 0.9, 0)] for _ in images]


@pytest.fixture
def fixed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(detect_base, "_REGISTRY", dict(detect_base._REGISTRY))
    detect_base.register(FixedDetector)  # the one registration line
    yield
    monkeypatch.undo()
    refresh()


DETECT = '[detect]\nlabels = ["cat"]\n\n[detect.detector]\ntype = "fixed_for_test"\nlabel = "cat"\n'


@pytest.mark.usefixtures("fixed")
def test_a_new_detector_is_configured_by_file() -> None:
    config = parse_config(DETECT, "hub.toml")
    detect = config.detection()
    assert detect is not None
    spec = detect.spec()
    assert (spec.type_name, spec.options) == ("fixed_for_test", {"label": "cat", "size": 32})
    detector = detect_base.create_detector(spec.type_name, **spec.options)
    assert detector.detect([_grey()])[0][0].label == "cat"


@pytest.mark.usefixtures("fixed")
def test_a_new_detector_is_validated_with_file_and_line() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(DETECT + "size = 0\nscore = 1\n", "hub.toml")
    text = str(info.value)
    assert "hub.toml:7: detect.detector.size: Input should be greater than or equal to 1" in text
    assert (
        "hub.toml:8: detect.detector.score: unknown key; known keys here: type, label, size" in text
    )


def test_an_unregistered_detector_is_unknown_again() -> None:
    # (after the tests above, whose fixtures registered it and then took it away)
    with pytest.raises(ConfigError, match="unknown type 'fixed_for_test'"):
        parse_config(DETECT, "hub.toml")
