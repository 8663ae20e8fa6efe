"""The built-in test pattern (``testsrc``, ``testsrc:640x480@30``): a free camera for
demos and tests. Moving content, the camera name and a millisecond clock are drawn in,
so a person can see at a glance that frames are live and how fresh they are.

It is cheap: the static picture is rendered once, and each frame only repaints the two
small regions that change (a bouncing square and the clock line) before JPEG encoding.
"""

from __future__ import annotations

import re
import time

import numpy as np
import numpy.typing as npt

from camhub.jpeg import encode_jpeg
from camhub.sources.base import SourceTimeouts, ThreadedSource
from camhub.sources.registry import OpenOptions, SourceForm, SourceKind, register_source
from camhub.sources.uri import SourceSpec, SourceURIError

QUALITY = 80


def _background(width: int, height: int, name: str) -> npt.NDArray[np.uint8]:
    import cv2

    y = np.linspace(40, 120, height, dtype=np.float32)[:, None]
    x = np.linspace(0, 80, width, dtype=np.float32)[None, :]
    img = np.empty((height, width, 3), np.uint8)
    img[:, :, 0] = (y + x).astype(np.uint8)
    img[:, :, 1] = (y * 0.8).astype(np.uint8)
    img[:, :, 2] = (x + 30).astype(np.uint8)
    bars = [(192, 192, 192), (0, 192, 192), (192, 192, 0), (0, 192, 0),
            (192, 0, 192), (0, 0, 192), (192, 0, 0)]  # fmt: skip
    bar_w = max(1, width // len(bars))
    for i, colour in enumerate(bars):
        img[: height // 6, i * bar_w : (i + 1) * bar_w] = colour
    step = max(16, width // 16)
    img[:, ::step] //= 2
    img[::step, :] //= 2
    scale = max(0.4, width / 900)
    cv2.putText(img, name, (10, height // 6 + int(36 * scale)), cv2.FONT_HERSHEY_SIMPLEX,
                scale, (255, 255, 255), max(1, int(2 * scale)), cv2.LINE_AA)  # fmt: skip
    return img


class TestPatternSource(ThreadedSource):
    kind = "testsrc"
    __test__ = False  # not a pytest test class, despite the name

    def __init__(
        self,
        spec: SourceSpec,
        name: str,
        timeouts: SourceTimeouts | None = None,
        quality: int = QUALITY,
    ) -> None:
        super().__init__(spec.display, name, timeouts)
        assert spec.width is not None and spec.height is not None and spec.fps is not None
        self.width, self.height, self.fps = spec.width, spec.height, spec.fps
        self.quality = quality

    def _stream(self) -> None:
        import cv2

        w, h = self.width, self.height
        background = _background(w, h, self.name)
        canvas = background.copy()
        box = max(8, min(w, h) // 8)
        scale = max(0.35, w / 1100)
        thickness = max(1, int(2 * scale))
        (_tw, th), base = cv2.getTextSize("00:00:00.000 #0", cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        band_top = max(0, h - th - base - 12)
        period = 1.0 / self.fps
        next_at = time.monotonic()
        n = 0
        prev = (0, 0)
        while not self.stopping:
            now = time.time()
            # Repaint only what changes: the old square, the clock band.
            px, py = prev
            canvas[py : py + box, px : px + box] = background[py : py + box, px : px + box]
            canvas[band_top:] = background[band_top:]
            x = int((np.sin(n * 0.05) * 0.5 + 0.5) * (w - box))
            y = int((np.cos(n * 0.037) * 0.5 + 0.5) * (band_top - box)) if band_top > box else 0
            canvas[y : y + box, x : x + box] = (40, 220, 255)
            prev = (x, y)
            clock = time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now * 1e3) % 1000:03d}"
            cv2.putText(canvas, f"{clock} #{n}", (8, h - base - 6), cv2.FONT_HERSHEY_SIMPLEX,
                        scale, (255, 255, 255), thickness, cv2.LINE_AA)  # fmt: skip
            jpeg = encode_jpeg(canvas, quality=self.quality)
            self._emit(jpeg=jpeg, width=w, height=h, captured_at=now)
            n += 1
            next_at = max(next_at + period, time.monotonic() - period)
            if self._stop.wait(max(0.0, next_at - time.monotonic())):
                return


_FORM = re.compile(r"^testsrc(?::(?:(\d{1,5})x(\d{1,5}))?(?:@(\d+(?:\.\d+)?))?)?$")


def _parse(text: str) -> SourceSpec:
    m = _FORM.match(text)
    if m is None:
        raise SourceURIError(
            f"bad test pattern {text!r}: expected testsrc, testsrc:WIDTHxHEIGHT, "
            "testsrc:WIDTHxHEIGHT@FPS or testsrc:@FPS (e.g. testsrc:640x480@30)"
        )
    width = int(m.group(1)) if m.group(1) else 640
    height = int(m.group(2)) if m.group(2) else 480
    fps = float(m.group(3)) if m.group(3) else 15.0
    if not (16 <= width <= 7680 and 16 <= height <= 4320):
        raise SourceURIError(f"bad test pattern {text!r}: size must be 16x16 to 7680x4320")
    if width % 2 or height % 2:
        raise SourceURIError(f"bad test pattern {text!r}: width and height must be even")
    if not 0 < fps <= 240:
        raise SourceURIError(f"bad test pattern {text!r}: fps must be in (0, 240]")
    return SourceSpec("testsrc", text, text, width=width, height=height, fps=fps)


def _open(spec: SourceSpec, name: str, options: OpenOptions) -> TestPatternSource:
    return TestPatternSource(spec, name, options.timeouts)


register_source(
    SourceKind(
        "testsrc",
        _open,
        _parse,
        words=("testsrc",),
        forms=(
            SourceForm("testsrc[:WxH@FPS]", "testsrc[:WxH@FPS]", "built-in moving test pattern"),
        ),
    )
)
