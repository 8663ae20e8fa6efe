"""The ONNX Runtime backend on a real YOLOv8n-derived export (2 classes: Normal, Fall)."""

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from camhub.detect import DetectorError, create_detector, iou_matrix
from camhub.detect.darknet import DarknetDetector
from camhub.detect.onnx import OnnxDetector, guess_layout, labels_from_metadata
from tests.detect.onnx_models import fall_model, with_nms_in_model
from tests.detect.photos import photo


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("models")
    fall = fall_model(d)
    return {"fall": fall, "end2end": with_nms_in_model(fall, d / "e2e.onnx")}


@pytest.fixture(scope="module")
def fall(models: dict[str, Path]) -> OnnxDetector:
    det = OnnxDetector(models["fall"])
    det.load()
    return det


def test_reads_input_size_layout_and_labels_from_the_model(fall: OnnxDetector) -> None:
    assert fall.input_size == (640, 640)
    assert fall.layout == "yolov8"
    assert fall.labels == ["Normal", "Fall"]
    assert fall.providers == ["CPUExecutionProvider"]


def test_the_standing_astronaut_is_one_normal_person_where_yolo_tiny_sees_her(
    fall: OnnxDetector,
) -> None:
    boxes = fall.detect([photo("astronaut")])[0]
    assert [b.label for b in boxes] == ["Normal"]
    tiny = DarknetDetector()
    person = next(b for b in tiny.detect([photo("astronaut")])[0] if b.label == "person")
    a = np.array([boxes[0].xywh], np.float32)
    b = np.array([person.xywh], np.float32)
    assert iou_matrix(a, b)[0, 0] > 0.7


def test_no_one_in_the_rocket_photo(fall: OnnxDetector) -> None:
    assert fall.detect([photo("rocket")]) == [[]]


def test_nms_in_model_layout_gives_the_same_boxes(
    models: dict[str, Path], fall: OnnxDetector
) -> None:
    e2e = OnnxDetector(models["end2end"])
    e2e.load()
    assert e2e.layout == "end2end"
    assert e2e.labels == ["Normal", "Fall"]
    image = photo("astronaut")
    assert e2e.detect([image]) == fall.detect([image])


def test_a_batch_larger_than_the_model_batch_is_split(fall: OnnxDetector) -> None:
    out = fall.detect([photo("rocket"), photo("astronaut"), photo("rocket")])
    assert [len(b) for b in out] == [0, 1, 0]


def test_labels_file_overrides_the_metadata(models: dict[str, Path], tmp_path: Path) -> None:
    labels = tmp_path / "labels.txt"
    labels.write_text("upright\nfallen\n")
    det = create_detector("onnx", model=models["fall"], labels=labels)
    assert det.detect([photo("astronaut")])[0][0].label == "upright"


def test_missing_model_fails_at_load_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(DetectorError, match=r"model file .*nope\.onnx does not exist"):
        OnnxDetector(tmp_path / "nope.onnx").load()


def test_a_file_that_is_not_a_model_fails_at_load_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "notes.onnx"
    bad.write_text("these are my notes, not a neural network")
    with pytest.raises(DetectorError, match=r"notes\.onnx is not an ONNX model"):
        OnnxDetector(bad).load()


def test_an_unknown_output_layout_fails_naming_the_file_and_the_layouts(tmp_path: Path) -> None:
    # A real, loadable model whose output is one number per image: not a detector head.
    node = helper.make_node("ReduceMean", ["images"], ["mean"], axes=[1, 2, 3], keepdims=0)
    graph = helper.make_graph(
        [node],
        "not_a_detector",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 64, 64])],
        [helper.make_tensor_value_info("mean", TensorProto.FLOAT, [1])],
    )
    path = tmp_path / "mean.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    with pytest.raises(DetectorError, match=r"mean\.onnx: .*\[B, 4\+classes, N\] \(YOLOv8"):
        OnnxDetector(path).load()


def test_asking_for_a_provider_this_runtime_lacks_is_refused(models: dict[str, Path]) -> None:
    det = OnnxDetector(models["fall"], providers=["NoSuchExecutionProvider"])
    with pytest.raises(DetectorError, match="has no NoSuchExecutionProvider here"):
        det.load()


@pytest.mark.parametrize(
    ("shape", "n", "layout"),
    [
        ([1, 84, 8400], 80, "yolov8"),
        ([1, 84, 8400], 0, "yolov8"),
        ([1, 25200, 85], 80, "yolov5"),
        ([1, 25200, 85], 0, "yolov5"),
        (["batch", 300, 6], 80, "nms"),
        (["K", 7], 0, "end2end"),
        ([1, 25200, 6], 1, "yolov5"),
        ([1, 10], 0, None),
        ([1, 84, 8400], 3, None),
    ],
)
def test_layout_guess(shape: list[object], n: int, layout: str | None) -> None:
    assert guess_layout(shape, n) == layout  # type: ignore[arg-type]


def test_metadata_names_as_dict_or_list_or_garbage() -> None:
    assert labels_from_metadata({"names": "{0: 'a', 1: 'b'}"}) == ["a", "b"]
    assert labels_from_metadata({"names": "['x', 'y']"}) == ["x", "y"]
    assert labels_from_metadata({"names": "__import__('os')"}) == []
    assert labels_from_metadata({}) == []
