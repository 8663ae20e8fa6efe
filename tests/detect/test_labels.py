"""Labels: COCO's names for the built-in model, the old Darknet names accepted everywhere a
label is given, and an unknown label refused with the closest known ones."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from camhub.bus import EventBus
from camhub.config import ConfigError, parse_config
from camhub.detect import DetectorError
from camhub.detect.darknet import DarknetDetector
from camhub.detect.labels import (
    ALIASES,
    COCO_LABELS,
    UnknownLabel,
    aliases_of,
    canonical,
    resolve,
    resolve_all,
)
from camhub.detect.pool import DetectorSpec
from camhub.detect.scheduler import CameraSettings, ObjectDetection
from camhub.detect.zones import Line, Zone
from camhub.store import CameraStore
from tests.cli_proc import run_cli

OLD_DARKNET = ["motorbike", "aeroplane", "sofa", "tvmonitor", "diningtable", "pottedplant"]


def test_the_built_in_model_speaks_coco() -> None:
    labels = DarknetDetector().labels
    assert labels == list(COCO_LABELS) and len(labels) == 80
    assert {"motorcycle", "airplane", "couch", "tv", "dining table", "potted plant"} <= set(labels)
    assert not set(OLD_DARKNET) & set(labels)
    assert sorted(ALIASES) == sorted(OLD_DARKNET)


@pytest.mark.parametrize("old", OLD_DARKNET)
def test_old_names_mean_the_coco_ones_and_back(old: str) -> None:
    new = canonical(old)
    assert new in COCO_LABELS and new != old
    assert resolve(old, COCO_LABELS) == new
    # A model that still uses the old name (a VOC-style labels file) is asked in COCO's.
    assert resolve(new, ["person", old]) == old
    assert aliases_of(old) == aliases_of(new) == [new, old]


def test_spelling_variants_are_the_same_label() -> None:
    assert resolve("Dining_Table", COCO_LABELS) == "dining table"
    assert resolve("potted-plant", COCO_LABELS) == "potted plant"
    assert resolve("tv monitor", COCO_LABELS) == "tv"
    assert resolve("normal", ["Normal", "Fall"]) == "Normal"  # a custom model's names
    assert resolve("person", COCO_LABELS) == "person"


@pytest.mark.parametrize(
    ("given", "hint"),
    [
        ("motorbke", "did you mean 'motorcycle'?"),
        ("persn", "did you mean 'person'?"),
        ("aeroplan", "did you mean 'airplane'?"),
        ("tv-monitr", "did you mean 'tv'?"),
        ("cellphone", "did you mean 'cell phone'?"),
    ],
)
def test_an_unknown_label_lists_the_close_ones(given: str, hint: str) -> None:
    with pytest.raises(UnknownLabel) as err:
        resolve(given, COCO_LABELS)
    message = str(err.value)
    assert message.startswith(f"the detector does not know {given!r}: {hint}"), message
    assert "(it knows: person, bicycle, car, motorcycle," in message


def test_close_ones_are_found_in_any_spelling_the_model_uses() -> None:
    with pytest.raises(UnknownLabel, match=r"did you mean 'motorbike'\?"):
        resolve("motorbke", ["person", "motorbike"])  # a model that kept the old name
    with pytest.raises(UnknownLabel, match=r"did you mean 'Fall'\?"):
        resolve("fal", ["Normal", "Fall"])


def test_a_label_with_nothing_close_names_the_known_ones() -> None:
    with pytest.raises(UnknownLabel, match=r"^the detector does not know 'unicorn' \(it knows"):
        resolve("unicorn", COCO_LABELS)
    with pytest.raises(UnknownLabel) as err:
        resolve_all(["person", "unicorn"], COCO_LABELS, ("labels",))
    assert err.value.where == ("labels", 1) and isinstance(err.value, DetectorError)


def test_zones_and_lines_count_old_and_new_names_alike() -> None:
    zone = Zone("drive", ((0, 0), (10, 0), (10, 10)), labels=frozenset({"motorbike"}))
    assert zone.applies_to("motorcycle") and zone.applies_to("motorbike")
    assert not zone.applies_to("car")
    line = Line("gate", (0, 0), (0, 10), labels=frozenset({"motorcycle"}))
    assert line.applies_to("motorbike") and not line.applies_to("bicycle")


# -- where labels are given -------------------------------------------------------------

CONFIG = """
[detect]
labels = {labels}

[detect.cameras.drive]
zones = [{{ name = "porch", points = [[0, 0], [9, 0], [9, 9]], labels = {zone} }}]
lines = [{{ name = "gate", a = [0, 0], b = [0, 9], labels = ["person"] }}]
"""


def test_the_config_accepts_old_names_for_the_built_in_model() -> None:
    cfg = parse_config(CONFIG.format(labels='["person", "motorbike"]', zone='["sofa"]'), "h.toml")
    assert cfg.detect is not None and cfg.detect.labels == ["person", "motorbike"]


def test_the_config_refuses_a_misspelt_label_at_its_line() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(CONFIG.format(labels='["person", "motorbke"]', zone="[]"), "h.toml")
    assert str(err.value).startswith(
        "h.toml:3: detect.labels[1]: the detector does not know 'motorbke': "
        "did you mean 'motorcycle'?"
    ), err.value
    with pytest.raises(ConfigError) as err:
        parse_config(CONFIG.format(labels='["person"]', zone='["persn"]'), "h.toml")
    assert str(err.value).startswith(
        "h.toml:6: detect.cameras.drive.zones[0].labels[0]: the detector does not know 'persn'"
    ), err.value


def test_the_config_leaves_another_models_labels_to_the_model() -> None:
    text = CONFIG.format(labels='["Fall"]', zone="[]").replace(
        "[detect]\n", '[detect]\nmodel = "fall.onnx"\n'
    )
    cfg = parse_config(text, "h.toml")
    assert cfg.detect is not None and cfg.detect.labels == ["Fall"]


def test_detect_on_the_command_line_refuses_a_misspelt_label_before_starting(
    taken_bind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_cli(
        capsys, "hub", "--bind", taken_bind, "--no-web", "--detect", "person,motorbke"
    )
    assert code == 2
    assert re.search(
        r"error: --detect: the detector does not know 'motorbke': "
        r"did you mean 'motorcycle'\? \(it knows: person, bicycle",
        out,
    ), out
    assert "Traceback" not in out


@pytest.fixture
def store() -> Iterator[tuple[CameraStore, EventBus]]:
    bus = EventBus()
    store = CameraStore(bus)
    yield store, bus
    store.stop()


def test_detection_takes_old_names_and_spells_them_as_the_model(
    store: tuple[CameraStore, EventBus],
) -> None:
    gate = Line("gate", (0, 0), (0, 9), labels=frozenset({"Motor_Bike", "person"}))
    zone = Zone("porch", ((0, 0), (9, 0), (9, 9)), labels=frozenset({"sofa"}))
    det = ObjectDetection(
        *store,
        DetectorSpec("darknet"),
        labels=["person", "motorbike", "TV"],
        cameras={"drive": CameraSettings(zones=[zone], lines=[gate])},
    ).start()
    try:
        assert det.labels == ["person", "motorcycle", "tv"]
        settings = det.settings["drive"]
        assert settings.zones[0].labels == {"couch"}
        assert settings.lines[0] is gate and gate.labels == {"motorcycle", "person"}
    finally:
        det.stop()


def test_detection_refuses_a_zone_label_the_model_lacks(
    store: tuple[CameraStore, EventBus],
) -> None:
    zone = Zone("porch", ((0, 0), (9, 0), (9, 9)), labels=frozenset({"persn"}))
    det = ObjectDetection(
        *store, DetectorSpec("darknet"), cameras={"drive": CameraSettings(zones=[zone])}
    )
    with pytest.raises(
        UnknownLabel,
        match=r"^zone 'porch' on camera 'drive': the detector does not know 'persn': "
        r"did you mean 'person'\?",
    ):
        det.start()
    assert all(w.state == "stopped" for w in det.pool.workers)
