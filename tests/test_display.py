"""Desktop display modes. CI has the headless OpenCV build, so the GUI paths are tested
for their refusal (which must name the fix); the montage layout is tested as pixels."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import camhub
from camhub.display import (
    Display,
    DisplayUnavailable,
    check_gui,
    gui_backend,
    montage,
    open_display,
)

headless = pytest.mark.skipif(gui_backend() is not None, reason="this OpenCV has a GUI backend")


@headless
@pytest.mark.parametrize("mode", ["window", "montage"])
def test_headless_opencv_refuses_with_the_fix(mode: str) -> None:
    hub = camhub.Hub(bind="tcp://127.0.0.1:0")
    try:
        with pytest.raises(DisplayUnavailable) as info:
            open_display(mode, hub)
    finally:
        hub.stop()
    message = str(info.value)
    assert f"--display {mode}" in message and "headless" in message
    assert "pip install opencv-python" in message and "opencv-python-headless" in message


def test_gui_build_without_a_desktop_says_so() -> None:
    with pytest.raises(DisplayUnavailable, match="DISPLAY"):
        check_gui("window", backend="GTK3", env={})
    check_gui("window", backend="GTK3", env={"DISPLAY": ":0"})  # would be allowed


def test_none_and_unknown_modes() -> None:
    hub = camhub.Hub(bind="tcp://127.0.0.1:0")
    try:
        display = open_display("none", hub)
        assert type(display) is Display and display.update() is True
        with pytest.raises(DisplayUnavailable, match="unknown display mode 'tv'"):
            open_display("tv", hub)
    finally:
        hub.stop()


def test_montage_places_every_camera_in_a_grid() -> None:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255)]
    images = [(f"c{i}", np.full((120, 160, 3), c, np.uint8)) for i, c in enumerate(colours)]
    images.append(("grey", np.full((30, 40), 128, np.uint8)))
    images.append(("none yet", None))
    out = montage(images, tile=(80, 60))
    assert out.shape == (3 * 60, 3 * 80, 3)  # 7 pictures: 3 columns, 3 rows
    for i, colour in enumerate(colours):
        y, x = (i // 3) * 60 + 45, (i % 3) * 80 + 40  # below the name label
        assert tuple(int(v) for v in out[y, x]) == colour
    assert out[1 * 60 + 45, 2 * 80 + 40].tolist() == [128, 128, 128]  # grey, scaled up
    assert out[2 * 60 + 45, 40].tolist() == [0, 0, 0]  # no frame yet: dark tile


@headless
def test_cli_hub_display_window_fails_cleanly() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "camhub",
            "hub",
            "--bind",
            "tcp://127.0.0.1:0",
            "--no-web",
            "--display",
            "montage",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "pip install opencv-python" in result.stderr
    assert "Traceback" not in result.stderr
