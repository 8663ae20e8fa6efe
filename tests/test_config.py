"""Fleet config files: good ones load, bad ones name the key (and the line)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from camhub.cli import main
from camhub.config import ConfigError, FleetConfig, Overlay, load_config, parse_config, read_config

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


# -- one model: command line over the file, validated once ---------------------------------


def test_options_over_the_file_are_validated_with_it(tmp_path: Path) -> None:
    path = tmp_path / "fleet.toml"
    path.write_text(GOOD_TOML.replace("fps = 10", "fps = -3"))
    overlay = Overlay().set(("hub", "offline_after"), 0.0, "--offline-after")
    with pytest.raises(ConfigError, match="2 problems:") as info:
        load_config(path, overlay)
    text = str(info.value).replace(str(tmp_path) + "/", "")
    assert "fleet.toml:8: cameras[0].fps: Input should be greater than 0 (got -3)" in text
    assert "--offline-after must be positive and at most 3600, got 0" in text


def test_an_option_wins_over_the_file_and_the_rest_of_the_file_stays(tmp_path: Path) -> None:
    path = tmp_path / "fleet.toml"
    path.write_text(GOOD_TOML + '\n[hub.record]\nmode = "events"\nkeep_days = 3\n')
    overlay = (
        Overlay()
        .set(("hub", "offline_after"), 9.0, "--offline-after")
        .set(("hub", "record", "mode"), "continuous", "--record")
        .append(("cameras",), {"source": "testsrc", "pull": True}, "CAMERA_URL")
    )
    config = load_config(path, overlay)
    assert config.hub.offline_after == 9 and config.hub.address == "tcp://192.168.1.10:5555"
    assert (config.hub.record.mode, config.hub.record.keep_days) == ("continuous", 3)
    assert [c.name for c in config.cameras] == ["door", "desk", None]
    assert [job.name for job in config.pulled()] == ["testsrc"]
    assert config.expected() == ["door", "desk"]


def _hub_args(*args: str) -> FleetConfig:
    from camhub.cli import build_parser
    from camhub.cli.hub import hub_overlay

    parsed = build_parser().parse_args(["hub", *args])
    return read_config(parsed.config, hub_overlay(parsed))


def test_every_hub_option_is_a_key_of_the_config(tmp_path: Path) -> None:
    config = _hub_args(
        "--bind", "tcp://127.0.0.1:5601", "--bind", "tcp://127.0.0.1:5602",
        "--web", "127.0.0.1:8123", "--web-expose", "--web-token-file", str(tmp_path / "t"),
        "--display", "montage", "--offline-after", "7", "--processor", "motion:door",
        "--status-every", "0", "--data", str(tmp_path), "--record", "events",
        "--keep-days", "2", "--max-gb", "5", "--record-labels", "person, car",
        "--mqtt", "broker:1884", "--mqtt-prefix", "home/cams", "--ha-discovery",
        "--webhook", "https://hooks.example/a", "--detect", "person,dog",
        "--model", "m.onnx", "--labels", "l.txt", "--detect-fps", "3", "--detect-workers", "2",
        "--no-motion-gate", "--detect-on", "ray", "--ray-address", "head:6379",
        "--ray-actors", "3", "--ray-resources", '{"gpu": 1}', "--phones-host", "hub.lan",
        "--secret-key", "hub.key_secret", "--authorized-keys", "keys",
        "--key-reload", "0", "--name", "yard", "testsrc",
    )  # fmt: skip
    hub = config.hub
    assert hub.binds == ["tcp://127.0.0.1:5601", "tcp://127.0.0.1:5602"]
    assert (hub.web, hub.web_expose, hub.web_token_file) == (
        "127.0.0.1:8123",
        True,
        str(tmp_path / "t"),
    )
    assert (hub.display, hub.offline_after, hub.processors) == ("montage", 7, ["motion:door"])
    assert (hub.status_every, hub.data_dir(), hub.phones_host) == (0, tmp_path, "hub.lan")
    assert (hub.record.mode, hub.record.keep_days, hub.record.max_gb) == ("events", 2, 5)
    settings = config.record_settings()
    assert settings.event_labels == {"person", "car"} and not settings.triggers("motion")
    assert config.mqtt is not None and config.mqtt.address == "broker:1884"
    assert config.mqtt.prefix == "home/cams" and config.mqtt.discovery
    assert [w.url for w in config.webhooks] == ["https://hooks.example/a"]
    detect = config.detection()
    assert detect is not None and detect.labels == ["person", "dog"]
    assert (detect.detect_fps, detect.workers, detect.motion_gated) == (3, 2, False)
    spec = detect.spec()
    assert spec.type_name == "onnx" and spec.options["labels"] == "l.txt"
    ray = detect.ray_options
    assert ray is not None and (ray.address, ray.actors, ray.resources) == (
        "head:6379", 3, {"gpu": 1.0}
    )  # fmt: skip
    assert hub.security.secret_key == "hub.key_secret" and hub.security.key_reload == 0
    assert [(c.name, c.source, c.pull) for c in config.cameras] == [("yard", "testsrc", True)]


def test_no_options_and_no_file_is_the_default_hub() -> None:
    config = _hub_args()
    assert config == FleetConfig()
    assert config.hub.web_address == "127.0.0.1:8000" and config.detection() is None


def test_phones_move_the_default_dashboard_to_the_lan() -> None:
    assert _hub_args("--phones").hub.web == "0.0.0.0:8443"
    assert _hub_args("--phones", "--web", "0.0.0.0:9443").hub.web == "0.0.0.0:9443"


def test_no_data_clears_the_files_data_dir(tmp_path: Path) -> None:
    path = tmp_path / "fleet.toml"
    path.write_text('[hub]\ndata = "/srv/camhub"\n')
    config = _hub_args("--config", str(path), "--no-data")
    assert config.hub.data_dir() is None
    with pytest.raises(ConfigError, match="keep_data = false keeps nothing"):
        parse_config('[hub]\ndata = "/srv/x"\nkeep_data = false\n', "f.toml")


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('[hub]\nbind = ["tcp://*:5555", "tcp://nohost"]\n', "f.toml:2: hub.bind: bad hub bind address 'tcp://nohost'"),
        ('[hub]\nprocessors = ["motoin"]\n', "f.toml:2: hub.processors: unknown processor 'motoin'"),
        ('[hub]\ndisplay = "tv"\n', "f.toml:2: hub.display: Input should be 'none'"),
        ('[hub.security]\nsecret_key = "k"\n', "f.toml:1: hub.security: secret_key needs"),
        ('[hub.record]\nevent_labels = []\n', "f.toml:2: hub.record.event_labels: List should"),
        ('[detect]\nmodel = "m.pt"\n', "f.toml:2: detect.model: no detector reads .pt model"),
        ('[detect]\non = "ray"\n[detect.ray]\nactors = 0\n',
         "f.toml:4: detect.ray.actors: need at least one detector actor, got 0"),
        ('[detect.detector]\ntype = "onnx"\nmodle = "m.onnx"\n',
         "f.toml:3: detect.detector.modle: unknown key; known keys here: type, model, labels_file"),
        ('[detect.detector]\ntype = "yolo9000"\n', "f.toml:1: detect.detector: unknown type 'yolo9000' (known: "),
        ('[detect]\nmodel = "m.onnx"\n[detect.detector]\ntype = "onnx"\nmodel = "n.onnx"\n',
         "f.toml:1: detect: give model inside [detect.detector]"),
        ('[[notify]]\ntype = "sms"\n', "f.toml:1: notify[0]: unknown type 'sms' (known: mqtt, webhook)"),
        ('[[notify]]\nhost = "broker"\n', "f.toml:1: notify[0]: required key 'type' is missing"),
        ('[[notify]]\ntype = "mqtt"\nhost = "broker"\nport = 0\n', "f.toml:4: notify[0].port: Input should be greater"),
    ],
)  # fmt: skip
def test_new_keys_name_their_line(text: str, where: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "f.toml")
    assert where in str(info.value)


def test_detectors_and_sinks_are_chosen_by_type() -> None:
    config = parse_config(
        '[detect.detector]\ntype = "onnx"\nmodel = "m.onnx"\nscore = 0.5\n\n'
        '[[notify]]\ntype = "mqtt"\nhost = "broker"\n\n'
        '[[notify]]\ntype = "webhook"\nurl = "https://hooks.example/b"\n',
        "f.toml",
    )
    detect = config.detection()
    assert detect is not None
    assert detect.spec().options == {
        "model": "m.onnx", "layout": "auto", "score_threshold": 0.5
    }  # fmt: skip
    assert [s.type for s in config.sinks()] == ["mqtt", "webhook"]


# -- secrets are never echoed --------------------------------------------------------------

SECRETS = ("98765432101", "hunter22", "secretpath", "tok3n", "sekrit")


@pytest.mark.parametrize(
    "text",
    [
        '[mqtt]\nhost = "broker"\nusername = "u"\npassword = 98765432101\n',
        '[mqtt]\nhost = "broker"\nusername = "u"\npassword = "hunter22"\npasword = "x"\n',
        '[[webhooks]]\nurl = "ftp://me:hunter22@hooks.example/secretpath?token=tok3n"\n',
        '[[webhooks]]\nurl = "https://hooks.example:99999/secretpath?token=tok3n"\n',
        "[[webhooks]]\nurl = 98765432101\n",
        '[[webhooks]]\nurl = "https://hooks.example/x"\nheaders = { "X A" = "sekrit" }\n',
        '[[webhooks]]\nurl = "https://hooks.example/x"\nheaders = { X-A = "sekrit\\nInjected: 1" }\n',
        "[hub]\nweb_token = 98765432101\n",
    ],
)
def test_errors_never_echo_secrets(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "hub.toml"
    path.write_text(text)
    assert main(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "hub.toml:" in err, err
    assert not [s for s in SECRETS if s in err], err


def test_command_line_errors_never_echo_secrets(
    taken_bind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    hook = "ftp://me:hunter22@hooks.example/secretpath?token=tok3n"
    assert main(["hub", "--bind", taken_bind, "--no-web", "--webhook", hook]) == 2
    err = capsys.readouterr().err
    assert "--webhook: url: bad webhook URL 'ftp://hooks.example/…'" in err, err
    assert not [s for s in SECRETS if s in err], err


def test_config_check_lists_sinks_without_credentials(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "hub.toml"
    path.write_text(
        '[mqtt]\nhost = "broker"\nusername = "u"\npassword = "hunter22"\n\n'
        '[[webhooks]]\nurl = "https://me:hunter22@hooks.example/secretpath?token=tok3n"\n\n'
        '[detect]\nlabels = ["person"]\n'
    )
    assert main(["config", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "notify: mqtt broker:1883" in out and "notify: webhook https://hooks.example/…" in out
    assert "detect: person with darknet" in out
    assert not [s for s in SECRETS if s in out], out


# -- loading a config stays light ------------------------------------------------------------


def test_loading_a_config_imports_no_opencv_and_no_scheduler(tmp_path: Path) -> None:
    path = tmp_path / "hub.toml"
    path.write_text(
        '[hub.record]\nevent_labels = ["person"]\n\n[[cameras]]\nsource = "rtsp://cam/1"\n\n'
        '[detect]\nmodel = "m.onnx"\n[detect.cameras.door]\nzones = [{ name = "z", '
        "points = [[0, 0], [1, 0], [1, 1]] }]\n[detect.ray]\nactors = 2\n\n"
        '[mqtt]\nhost = "broker"\n\n[[webhooks]]\nurl = "https://hooks.example/x"\n'
    )
    code = (
        "import sys\n"
        "from camhub.config import load_config\n"
        f"config = load_config({str(path)!r})\n"
        "assert config.detect is not None and config.detect.spec().type_name == 'onnx'\n"
        "heavy = ['cv2', 'onnxruntime', 'ray', 'av', 'uvicorn', 'starlette',\n"
        "         'camhub.detect.scheduler', 'camhub.detect.motion', 'camhub.processing']\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
