import numpy as np
import pytest

from camhub.detect import (
    Box,
    Detector,
    UnknownDetector,
    create_detector,
    detector_types,
    iou_matrix,
    letterbox,
    nms,
    register,
)


def test_iou_of_identical_disjoint_and_half_overlapping_boxes() -> None:
    a = np.array([[0, 0, 10, 10]], dtype=np.float32)
    b = np.array([[0, 0, 10, 10], [20, 20, 5, 5], [5, 0, 10, 10]], dtype=np.float32)
    np.testing.assert_allclose(iou_matrix(a, b)[0], [1.0, 0.0, 50 / 150], rtol=1e-5)


def test_nms_keeps_the_best_of_overlapping_boxes_and_separate_ones() -> None:
    boxes = np.array([[0, 0, 100, 100], [5, 5, 100, 100], [300, 300, 50, 50]], dtype=np.float32)
    scores = np.array([0.6, 0.9, 0.5], dtype=np.float32)
    assert nms(boxes, scores).tolist() == [1, 2]


def test_nms_never_suppresses_across_classes() -> None:
    boxes = np.array([[0, 0, 100, 100], [2, 2, 100, 100]], dtype=np.float32)
    scores = np.array([0.9, 0.8], dtype=np.float32)
    assert nms(boxes, scores, np.array([0, 1])).tolist() == [0, 1]
    assert nms(boxes, scores, np.array([0, 0])).tolist() == [0]


def test_letterbox_pads_centred_and_maps_boxes_back() -> None:
    image = np.zeros((480, 640, 3), dtype=np.uint8)
    image[100:200, 300:400] = 255
    out, lb = letterbox(image, (320, 320))
    assert out.shape == (320, 320, 3)
    assert lb.scale == 0.5 and lb.pad_x == 0 and lb.pad_y == 40
    # The white square lands at (150, 90) in the model input ...
    ys, xs = np.nonzero(out[:, :, 0] == 255)
    assert (xs.min(), ys.min()) == (150, 90)
    # ... and maps back to where it was in the frame.
    back = lb.to_image(np.array([[150, 90, 50, 50]], dtype=np.float32), 640, 480)
    np.testing.assert_allclose(back[0], [300, 100, 100, 100])


def test_boxes_mapped_back_are_clipped_to_the_frame() -> None:
    _, lb = letterbox(np.zeros((100, 200, 3), np.uint8), (100, 100))
    back = lb.to_image(np.array([[-10, 0, 200, 200]], dtype=np.float32), 200, 100)
    x, y, w, h = back[0]
    assert x == 0 and y == 0 and x + w <= 200 and y + h <= 100


def test_registry_creates_a_registered_detector_by_name() -> None:
    @register
    class Fixed(Detector):
        type_name = "fixed_for_test"

        def __init__(self, label: str = "thing") -> None:
            self.labels = [label]
            self.input_size = (8, 8)

        def detect(self, images):  # type: ignore[no-untyped-def]
            return [[Box(0, 0, 1, 1, self.labels[0], 1.0, 0)] for _ in images]

    assert "fixed_for_test" in detector_types()
    det = create_detector("fixed_for_test", label="cup")
    assert det.detect([np.zeros((4, 4, 3), np.uint8)])[0][0].label == "cup"


def test_unknown_detector_names_the_known_ones() -> None:
    with pytest.raises(UnknownDetector, match=r"unknown detector 'nope'.*known:"):
        create_detector("nope")
