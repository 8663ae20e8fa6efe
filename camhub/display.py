"""The seed's desktop display modes: ``window`` (one OpenCV window per camera, as in the
imagezmq tutorial) and ``montage`` (one grid window). Both need an OpenCV build with GUI
support; camhub installs the headless build, so this module says so plainly instead of
failing deep inside OpenCV. The browser dashboard needs neither."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from camhub.types import CameraName, CamhubError, Frame, FrameStore, Image

Pixels = npt.NDArray[np.uint8]


def _pixels(image: Image) -> Pixels:
    """The image as uint8, the type OpenCV's drawing and GUI functions are typed for."""
    return np.asarray(image, dtype=np.uint8)


MODES = ("none", "window", "montage")


class DisplayUnavailable(CamhubError):
    """This OpenCV build or this session cannot open windows."""


def gui_backend() -> str | None:
    """The GUI backend OpenCV was built with (``GTK3``, ``QT``...), or None if headless."""
    info = cv2.getBuildInformation()
    start = info.find("GUI:")
    if start < 0:
        return None
    value = info[start + 4 : info.find("\n", start)].strip()
    return None if value.upper() in ("", "NONE", "NO") else value


def check_gui(mode: str, *, backend: str | None = None, env: dict[str, str] | None = None) -> None:
    """Raise DisplayUnavailable, naming the fix, when ``--display mode`` cannot work here."""
    backend = gui_backend() if backend is None else backend
    if not backend:
        raise DisplayUnavailable(
            f"--display {mode} needs OpenCV with GUI support, but the installed OpenCV "
            f"({cv2.__version__}) is a headless build (opencv-python-headless). Fix: "
            "pip uninstall -y opencv-python-headless && pip install opencv-python "
            "(on a server, use the browser dashboard instead: --web)"
        )
    env = dict(os.environ) if env is None else env
    if sys.platform.startswith("linux") and not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
        raise DisplayUnavailable(
            f"--display {mode} needs a desktop session, but neither DISPLAY nor "
            "WAYLAND_DISPLAY is set (e.g. over SSH without -X). Use the browser dashboard "
            "instead: --web"
        )


def montage(
    images: Sequence[tuple[str, Image | None]],
    tile: tuple[int, int] = (320, 240),
    columns: int | None = None,
) -> Image:
    """One BGR image with every camera's picture scaled into a grid, name on each tile;
    ``None`` pictures (no frame yet) are drawn as a dark tile."""
    tw, th = tile
    n = max(1, len(images))
    cols = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    canvas = np.zeros((rows * th, cols * tw, 3), np.uint8)
    for i, (label, image) in enumerate(images):
        y, x = (i // cols) * th, (i % cols) * tw
        if image is not None:
            pixels = _pixels(image)
            if pixels.ndim == 2:
                pixels = np.asarray(cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR), np.uint8)
            h, w = pixels.shape[:2]
            scale = min(tw / w, th / h)
            nw, nh = max(1, int(w * scale)), max(1, int(h * scale))
            small = cv2.resize(pixels, (nw, nh), interpolation=cv2.INTER_AREA)
            oy, ox = y + (th - nh) // 2, x + (tw - nw) // 2
            canvas[oy : oy + nh, ox : ox + nw] = small[:, :, :3]
        cv2.putText(
            canvas,
            label[:40],
            (x + 8, y + 22),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.6,
            (255, 255, 255),
            2,
            cv2.LINE_AA,
        )
    return canvas


class Display:
    """Shows a hub's cameras; call ``update()`` from the main thread (GUI toolkits want
    that). ``update`` returns False once the user pressed q or Esc."""

    mode = "none"

    def __init__(self, store: FrameStore) -> None:
        self.store = store
        self._shown: dict[CameraName, Frame] = {}

    def _changed(self) -> list[tuple[CameraName, Frame]]:
        out = []
        for name in self.store.camera_names():
            frame = self.store.latest(name)
            if frame is not None and self._shown.get(name) is not frame:
                self._shown[name] = frame
                out.append((name, frame))
        return out

    def update(self) -> bool:
        return True

    def close(self) -> None:
        pass


class _GuiDisplay(Display):
    def __init__(self, store: FrameStore) -> None:
        check_gui(self.mode)
        super().__init__(store)

    def _poll_keys(self) -> bool:
        key = cv2.waitKey(1) & 0xFF
        return key not in (ord("q"), 27)

    def close(self) -> None:
        cv2.destroyAllWindows()


class WindowDisplay(_GuiDisplay):
    """One ``cv2.imshow`` window per camera, named after it."""

    mode = "window"

    def update(self) -> bool:
        for name, frame in self._changed():
            try:
                cv2.imshow(name, _pixels(frame.image))
            except Exception:  # an undecodable frame must not end the display
                continue
        return self._poll_keys()


class MontageDisplay(_GuiDisplay):
    """All cameras in one grid window."""

    mode = "montage"
    window = "camhub montage"

    def update(self) -> bool:
        if self._changed():
            pictures: list[tuple[str, Image | None]] = []
            for name, frame in sorted(self._shown.items()):
                try:
                    pictures.append((name, frame.image))
                except Exception:
                    pictures.append((name, None))
            cv2.imshow(self.window, _pixels(montage(pictures)))
        return self._poll_keys()


def open_display(mode: str, store: FrameStore) -> Display:
    """The display for ``--display mode``; raises DisplayUnavailable with the fix."""
    if mode == "window":
        return WindowDisplay(store)
    if mode == "montage":
        return MontageDisplay(store)
    if mode == "none":
        return Display(store)
    raise DisplayUnavailable(f"unknown display mode {mode!r}; choose one of {', '.join(MODES)}")
