"""The [detect] section: validated with the rest of the file, errors on the right line."""

import pytest

from camhub.config import ConfigError, parse_config

GOOD = """
[detect]
labels = ["person", "car"]
detect_fps = 4
model = "mine.onnx"

[detect.cameras.door]
detect_fps = 8
zones = [{ name = "porch", points = [[200, 300], [440, 300], [440, 480]], loiter_s = 30 }]
lines = [{ name = "door", a = [320, 0], b = [320, 480], labels = ["person"] }]
"""


def test_a_detect_section_becomes_settings_and_a_detector_spec() -> None:
    cfg = parse_config(GOOD, "hub.toml").detect
    assert cfg is not None and cfg.labels == ["person", "car"]
    spec = cfg.spec()
    assert spec.type_name == "onnx" and spec.options["model"] == "mine.onnx"
    door = cfg.camera_settings()["door"]
    assert door.detect_fps == 8
    assert door.zones[0].name == "porch" and door.zones[0].loiter_s == 30
    assert door.lines[0].a == (320.0, 0.0) and door.lines[0].labels == frozenset({"person"})


def test_without_a_model_the_built_in_detector_is_used() -> None:
    cfg = parse_config("[detect]\n", "hub.toml").detect
    assert cfg is not None and cfg.spec().type_name == "darknet"
    assert cfg.labels == ["person"]


def test_errors_name_the_line_of_the_bad_zone_and_line() -> None:
    text = GOOD.replace("[440, 480]]", "]").replace("b = [320, 480]", "b = [320, 0]")
    with pytest.raises(ConfigError) as err:
        parse_config(text, "hub.toml")
    message = str(err.value)
    assert "hub.toml:9: detect.cameras.door.zones[0].points" in message
    assert (
        "hub.toml:10: detect.cameras.door.lines[0]: a line needs two different end points"
        in message
    )


def test_unknown_detect_keys_are_refused_with_the_known_ones() -> None:
    with pytest.raises(
        ConfigError, match=r"hub.toml:3: detect.fps: unknown key; known keys here: enabled, labels"
    ):
        parse_config("\n[detect]\nfps = 5\n", "hub.toml")
