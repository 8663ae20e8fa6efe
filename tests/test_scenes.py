"""The demo's synthetic cameras: different pictures per scene, intermittent motion on the
porch, and a camera that loses power and comes back."""

from __future__ import annotations

import numpy as np
import pytest

from camhub.scenes import SCENES, SceneSource
from camhub.sources import SourceURIError, default_name, open_source, parse_source
from tests.clock import ManualClock

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
    clock = ManualClock()
    source.clock = clock
    try:
        # Someone crosses during the first 6 s of every 16 s: frames 0.3 s apart differ...
        a = _frame(source)
        clock.advance(0.3, step=0.05)
        b = _frame(source)
        moving = np.abs(a - b)[:-20].mean()  # above the date line
        # ...then the porch is still.
        clock.advance(6.0, step=0.05)
        c = _frame(source)
        clock.advance(0.3, step=0.05)
        d = _frame(source)
        still = np.abs(c - d)[:-20].mean()
    finally:
        source.stop()
    assert moving > 0.5 and still < 0.05, (moving, still)


def test_outage_takes_the_camera_offline_and_back() -> None:
    source = SceneSource("workshop", "workshop", (160, 120), fps=10, outage=(3.0, 1.5))
    clock = ManualClock()
    source.clock = clock
    try:
        _frame(source)
        assert source.status().connected
        clock.advance(1.6, step=0.1)  # the power goes at 1.5 s of every 3 s
        assert not source.status().connected
        assert "lost power" in (source.status().last_error or "")
        made = source.status().frames
        clock.advance(1.0, step=0.1)  # still dark: retries fail, no new frame
        assert source.status().frames == made
        assert source.status().reconnects >= 1
        clock.advance(1.5, step=0.1)  # back at 3 s, and the retry pauses are at most 1 s
        assert source.status().connected
        assert source.status().frames > made
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
