"""Fleet config files: good ones load, bad ones name the key (and the line)."""

from __future__ import annotations

from pathlib import Path

import pytest

from camhub.cli import main
from camhub.config import ConfigError, load_config, parse_config

GOOD_TOML = """\
[hub]
address = "tcp://192.168.1.10:5555"
offline_after = 3

[[cameras]]
name = "door"
source = "ipwebcam://192.168.1.23"
fps = 10

[[cameras]]
name = "desk"
source = "0"
width = 640
encoding = "raw"
"""

GOOD_YAML = """\
hub:
  address: tcp://192.168.1.10:5555
cameras:
  - name: door
    source: ipwebcam://192.168.1.23
    fps: 10
  - source: testsrc:320x240@5
    quality: 70
"""


def test_toml_loads(tmp_path: Path) -> None:
    path = tmp_path / "fleet.toml"
    path.write_text(GOOD_TOML)
    config = load_config(path)
    assert config.hub.address == "tcp://192.168.1.10:5555"
    assert config.hub.offline_after == 3
    assert config.hub.bind == "tcp://*:5555"  # default
    assert [c.name for c in config.cameras] == ["door", "desk"]
    assert config.cameras[1].encoding == "raw" and config.cameras[1].quality == 85


def test_yaml_loads(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text(GOOD_YAML)
    config = load_config(path)
    assert config.cameras[0].fps == 10
    assert config.cameras[1].name is None and config.cameras[1].quality == 70


def test_empty_yaml_is_an_empty_fleet() -> None:
    assert parse_config("", "x.yml").cameras == []


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (GOOD_TOML.replace("fps = 10", "fps = -3"), "fleet.toml:8: cameras[0].fps: "),
        (
            GOOD_TOML.replace("width = 640", "widht = 640"),
            "fleet.toml:13: cameras[1].widht: unknown key; known keys here: source, name, fps, width",
        ),
        (
            GOOD_TOML.replace('encoding = "raw"', 'encoding = "png"'),
            "fleet.toml:14: cameras[1].encoding",
        ),
        (
            GOOD_TOML.replace("offline_after = 3", "offline_after = 0"),
            "fleet.toml:3: hub.offline_after",
        ),
        (
            GOOD_TOML.replace('"tcp://192.168.1.10:5555"', '"192.168.1.10"'),
            "fleet.toml:2: hub.address",
        ),
        (
            GOOD_TOML.replace('source = "0"', 'source = "ftp://x/y"'),
            "fleet.toml:12: cameras[1].source",
        ),
        (GOOD_TOML.replace('name = "desk"', 'name = "door"'), "fleet.toml:11: cameras[1].name"),
        (GOOD_TOML.replace('name = "desk"', 'name = "my desk!"'), "fleet.toml:11: cameras[1].name"),
        (GOOD_TOML.replace('source = "0"\n', ""), "fleet.toml:10: cameras[1].source: required"),
        (
            GOOD_TOML + "\n[extra]\nx = 1\n",
            "fleet.toml:16: extra: unknown key; known keys here: hub, cameras",
        ),
    ],
)
def test_bad_toml_names_the_key_and_line(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "fleet.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert where in str(info.value).replace(str(tmp_path) + "/", "")


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (GOOD_YAML.replace("fps: 10", "fps: 1000"), "fleet.yaml:6: cameras[0].fps"),
        (
            GOOD_YAML.replace("quality: 70", "qualty: 70"),
            "fleet.yaml:8: cameras[1].qualty: unknown",
        ),
        (GOOD_YAML.replace("quality: 70", "quality: 0"), "fleet.yaml:8: cameras[1].quality"),
        (GOOD_YAML.replace("hub:", "hubb:"), "fleet.yaml:1: hubb: unknown key"),
        (
            GOOD_YAML.replace("source: testsrc:320x240@5", "source: 'http://'"),
            "fleet.yaml:7: cameras[1].source",
        ),
    ],
)
def test_bad_yaml_names_the_key_and_line(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert where in str(info.value).replace(str(tmp_path) + "/", "")


def test_all_problems_are_listed() -> None:
    text = GOOD_TOML.replace("fps = 10", "fps = -3").replace("width = 640", "width = 2")
    with pytest.raises(ConfigError, match="2 problems") as info:
        parse_config(text, "f.toml")
    assert "cameras[0].fps" in str(info.value) and "cameras[1].width" in str(info.value)


@pytest.mark.parametrize(
    ("text", "name", "words"),
    [
        ("[hub\naddress = 1", "f.toml", "not valid TOML"),
        ("cameras: [\n  - x", "f.yaml", "f.yaml:2: not valid YAML"),
        ("- just\n- a list", "f.yaml", "top level must be"),
        ("x = 1", "f.ini", "unknown config format"),
        ("cameras = 5", "f.toml", "cameras: Input should be a valid list"),
    ],
)
def test_unparseable_files(text: str, name: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        parse_config(text, name)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "nope.toml")


def test_cli_check_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "fleet.toml"
    path.write_text(GOOD_TOML.replace("192.168.1.23", "me:secret99@192.168.1.23"))
    assert main(["config", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "cameras[0]: door: ipwebcam ipwebcam://me:***@192.168.1.23:8080 " in out
    assert "(codec auto, 10 fps, camhub send pushes it)" in out
    assert "secret99" not in out


def test_cli_check_bad(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "fleet.toml"
    path.write_text(GOOD_TOML.replace("fps = 10", "fps = -3"))
    assert main(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "fleet.toml:8: cameras[0].fps: Input should be greater than 0 (got -3)" in err


def test_cli_check_says_who_streams_each_camera(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "fleet.toml"
    path.write_text(
        '[[cameras]]\nname = "phone"\nsource = "ipwebcam://192.168.1.23"\npull = true\n\n'
        '[[cameras]]\nname = "pi"\nsource = "picamera"\n'
    )
    assert main(["config", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "cameras[0]: phone: ipwebcam" in out and "the hub pulls it" in out
    assert "cameras[1]: pi: picamera" in out and "camhub send pushes it" in out


def test_pull_must_be_a_boolean(tmp_path: Path) -> None:
    path = tmp_path / "fleet.toml"
    path.write_text('[[cameras]]\nsource = "testsrc"\npull = "sometimes"\n')
    with pytest.raises(ConfigError, match=r"fleet.toml:3: cameras\[0\].pull"):
        load_config(path)
