"""The demo's synthetic cameras: different pictures per scene, intermittent motion on the
porch, and a camera that loses power and comes back."""

from __future__ import annotations

import time

import numpy as np
import pytest

from camhub.scenes import SCENES, SceneSource
from camhub.sources import SourceTimeout, SourceURIError, default_name, open_source, parse_source

pytestmark = pytest.mark.timeout(60)


def _frame(source: SceneSource) -> np.ndarray:
    frame = source.read(timeout=5)
    return np.asarray(frame.image, np.int16)


def test_every_scene_looks_different() -> None:
    pictures = {}
    for scene in SCENES:
        source = SceneSource(scene, scene, (160, 120), fps=10)
        try:
            pictures[scene] = _frame(source)
        finally:
            source.stop()
    for a in SCENES:
        for b in SCENES:
            if a < b:
                assert np.abs(pictures[a] - pictures[b]).mean() > 20, (a, b)


def test_porch_has_motion_then_stillness() -> None:
    source = SceneSource("porch", "porch", (160, 120), fps=20)
    try:
        # Someone crosses during the first 6 s of every 16 s: consecutive frames differ...
        a, b = _frame(source), (time.sleep(0.3), _frame(source))[1]
        moving = np.abs(a - b)[:-20].mean()  # above the date line
        # ...then the porch is still.
        while time.monotonic() - source._born < 6.3:
            time.sleep(0.1)
        c, d = _frame(source), (time.sleep(0.3), _frame(source))[1]
        still = np.abs(c - d)[:-20].mean()
    finally:
        source.stop()
    assert moving > 0.5 and still < 0.05, (moving, still)


def test_outage_takes_the_camera_offline_and_back() -> None:
    source = SceneSource("workshop", "workshop", (160, 120), fps=10, outage=(3.0, 1.5))
    try:
        _frame(source)
        while source.status().connected:
            time.sleep(0.05)
            assert time.monotonic() - source._born < 5, "the outage never began"
        assert "lost power" in (source.status().last_error or "")
        try:  # the frame from just before the outage, if nobody took it yet
            source.read(timeout=0.01)
        except SourceTimeout:
            pass
        time.sleep(0.3)  # still dark: no new frame while the power is off
        with pytest.raises(SourceTimeout):
            source.read(timeout=0.3)
        deadline = time.monotonic() + 5
        while not source.status().connected:
            assert time.monotonic() < deadline, "the camera never came back"
            time.sleep(0.05)
        _frame(source)
    finally:
        source.stop()


def test_unknown_scene_is_refused() -> None:
    with pytest.raises(ValueError, match="known: porch"):
        SceneSource("moon", "x")


def test_the_porch_walker_is_a_person_to_the_built_in_detector() -> None:
    """The demo's detection depends on it: the drawn walker must look like a person to
    YOLOv3-tiny in most frames while it is in view, at the demo's sizes."""
    from camhub.detect.base import create_detector
    from camhub.scenes import _SCENES

    detector = create_detector("darknet")
    detector.load()
    try:
        porch = _SCENES["porch"]
        for w, h in ((640, 480), (320, 240)):
            background = porch.background(w, h)
            found = []
            for t in np.arange(1.0, 5.0, 0.25):  # fully in view
                img = background.copy()
                porch.animate(img, w, h, float(t))
                boxes = detector.detect([img])[0]
                found.append(any(b.label == "person" and b.score >= 0.3 for b in boxes))
            assert sum(found) >= 0.6 * len(found), (w, h, found)
            empty = detector.detect([porch.background(w, h)])[0]
            assert not [b for b in empty if b.label == "person"]  # nobody when nobody walks
    finally:
        detector.close()


def test_a_scene_is_a_source_string() -> None:
    """``camhub demo``'s cameras are plain sources (``camhub send scene:garden`` too)."""
    source = open_source("scene:workshop:64x48@20?outage=45,12", "shop")
    try:
        assert isinstance(source, SceneSource)
        assert (source.width, source.height, source.fps, source.outage) == (64, 48, 20.0, (45, 12))
        frame = source.read(timeout=5)
        assert (frame.width, frame.height) == (64, 48)
    finally:
        source.stop()
    assert default_name(parse_source("scene:porch")) == "porch"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("scene:attic", "unknown scene; known: porch, garage, garden, workshop"),
        ("scene:porch:8x8", "size must be"),
        ("scene:porch@0", "fps must be"),
        ("scene:porch?outage=10,10", "outage needs"),
        ("scene:porch:640x", "expected scene:NAME"),
    ],
)
def test_a_bad_scene_string_says_what_is_wrong(text: str, words: str) -> None:
    with pytest.raises(SourceURIError, match=words):
        parse_source(text)
