"""Recording settings in the fleet file: defaults, per-camera overrides, CLI override,
and errors that name the key and the line."""

from __future__ import annotations

import pytest

from camhub.config import ConfigError, parse_config, record_settings

FILE = """\
[hub]
data = "/srv/camhub"

[hub.record]
mode = "events"
pre_roll = 3
keep_days = 14
max_gb = 50

[[cameras]]
name = "porch"
source = "testsrc"
record = "continuous"
post_roll = 8

[[cameras]]
name = "desk"
source = "testsrc"
"""


def test_defaults_overrides_and_cli_mode() -> None:
    config = parse_config(FILE, "fleet.toml")
    settings = record_settings(config)
    assert settings.default.mode == "events" and settings.default.pre_roll == 3
    porch = settings.for_camera("porch")
    assert (porch.mode, porch.pre_roll, porch.post_roll) == ("continuous", 3, 8)
    assert settings.for_camera("desk") == settings.default
    assert (settings.keep_days, settings.max_gb) == (14, 50)
    assert config.hub.data == "/srv/camhub"
    forced = record_settings(config, "off")  # camhub hub --record off
    assert forced.default.mode == "off" and forced.for_camera("porch").mode == "continuous"


@pytest.mark.parametrize(
    ("change", "where", "words"),
    [
        (('mode = "events"', 'mode = "sometimes"'), "fleet.toml:5: hub.record.mode", "'off'"),
        (("pre_roll = 3", "pre_roll = 900"), "fleet.toml:6: hub.record.pre_roll", "300"),
        (("max_gb = 50", "max_gb = 50\nmax_size = 1"), "fleet.toml:9: hub.record.max_size",
         "known keys here: mode, pre_roll"),
        (('record = "continuous"', 'record = "always"'), "fleet.toml:13: cameras[0].record",
         "'continuous'"),
        (('name = "desk"\n', ""), "cameras[1]", "give the camera a name"),
    ],
)  # fmt: skip
def test_bad_recording_settings_name_key_and_line(
    change: tuple[str, str], where: str, words: str
) -> None:
    text = FILE.replace(*change)
    if "give the camera" in words:
        text += 'record = "events"\n'
    with pytest.raises(ConfigError) as info:
        parse_config(text, "fleet.toml")
    assert where in str(info.value) and words in str(info.value)
