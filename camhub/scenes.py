"""Synthetic camera scenes for ``camhub demo``: four different places drawn in code, so
the demo looks like a real deployment instead of four identical test patterns.

* ``porch``: a front door; a person walks past for a few seconds now and then
  (intermittent motion for the motion processor, and a person the built-in object
  detector finds);
* ``garage``: a parked car under a slowly flickering lamp;
* ``garden``: sky, lawn, a swaying tree, a drifting sun and a bouncing ball;
* ``workshop``: a bench and a wall clock whose hand sweeps; this camera loses power for
  ``outage`` seconds every ``every`` seconds, so the demo shows a camera going offline
  and coming back.

Each scene renders its static background once; a frame repaints only what moves, draws
a 24-hour clock, and is JPEG-encoded here (the agent then passes it through untouched).

A scene is a source kind like any camera: ``scene:porch``, ``scene:garden:320x240@10``,
``scene:workshop?outage=45,12`` (dark for 12 s of every 45 s), for ``camhub send`` too.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from camhub.jpeg import encode_jpeg
from camhub.sources.base import SourceTimeouts, ThreadedSource
from camhub.sources.registry import OpenOptions, SourceForm, SourceKind, register_source
from camhub.sources.uri import SourceSpec, SourceURIError
from camhub.types import ArgumentError

Canvas = npt.NDArray[np.uint8]
SCENES = ("porch", "garage", "garden", "workshop")
QUALITY = 80


def _vertical(h: int, w: int, top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Canvas:
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    a = np.array(top, np.float32)[None, None, :]
    b = np.array(bottom, np.float32)[None, None, :]
    return np.broadcast_to((a * (1 - t) + b * t).astype(np.uint8), (h, w, 3)).copy()


def _pt(w: int, h: int, x: float, y: float) -> tuple[int, int]:
    """A point given as fractions of the frame."""
    return int(x * w), int(y * h)


def _porch_background(w: int, h: int) -> Canvas:
    import cv2

    img = _vertical(h, w, (190, 215, 235), (150, 185, 215))  # pale wall (BGR)
    cv2.rectangle(img, _pt(w, h, 0, 0.82), _pt(w, h, 1, 1), (90, 100, 110), -1)  # path
    cv2.rectangle(img, _pt(w, h, 0.40, 0.22), _pt(w, h, 0.60, 0.82), (40, 70, 120), -1)  # door
    cv2.rectangle(img, _pt(w, h, 0.40, 0.22), _pt(w, h, 0.60, 0.82), (25, 45, 80), 3)
    cv2.circle(img, _pt(w, h, 0.57, 0.54), max(3, w // 110), (60, 190, 230), -1)  # knob
    for x0 in (0.10, 0.72):  # windows
        cv2.rectangle(img, _pt(w, h, x0, 0.25), _pt(w, h, x0 + 0.18, 0.55), (200, 160, 110), -1)
        cv2.rectangle(img, _pt(w, h, x0, 0.25), _pt(w, h, x0 + 0.18, 0.55), (245, 245, 245), 4)
        cv2.line(img, _pt(w, h, x0 + 0.09, 0.25), _pt(w, h, x0 + 0.09, 0.55), (245, 245, 245), 3)
    cv2.rectangle(img, _pt(w, h, 0.36, 0.82), _pt(w, h, 0.64, 0.86), (120, 130, 140), -1)  # step
    return img


def _garage_background(w: int, h: int) -> Canvas:
    import cv2

    img = _vertical(h, w, (70, 70, 75), (40, 42, 45))
    cv2.rectangle(img, _pt(w, h, 0, 0.75), _pt(w, h, 1, 1), (55, 58, 60), -1)  # floor
    cv2.rectangle(img, _pt(w, h, 0.05, 0.15), _pt(w, h, 0.30, 0.60), (60, 90, 110), -1)  # shelf
    for y in (0.27, 0.39, 0.51):
        cv2.line(img, _pt(w, h, 0.05, y), _pt(w, h, 0.30, y), (40, 60, 75), 3)
    # The car: body, cabin, windows, wheels.
    cv2.rectangle(img, _pt(w, h, 0.38, 0.55), _pt(w, h, 0.95, 0.75), (40, 40, 190), -1)
    cv2.rectangle(img, _pt(w, h, 0.48, 0.40), _pt(w, h, 0.82, 0.56), (35, 35, 170), -1)
    cv2.rectangle(img, _pt(w, h, 0.51, 0.43), _pt(w, h, 0.64, 0.55), (150, 120, 90), -1)
    cv2.rectangle(img, _pt(w, h, 0.66, 0.43), _pt(w, h, 0.79, 0.55), (150, 120, 90), -1)
    for x in (0.48, 0.85):
        cv2.circle(img, _pt(w, h, x, 0.76), max(6, w // 22), (20, 20, 20), -1)
        cv2.circle(img, _pt(w, h, x, 0.76), max(3, w // 50), (150, 150, 150), -1)
    return img


def _garden_background(w: int, h: int) -> Canvas:
    import cv2

    img = _vertical(h, w, (235, 170, 90), (245, 215, 170))  # sky (BGR)
    grass = _vertical(h - int(0.62 * h), w, (60, 150, 70), (30, 110, 40))
    img[int(0.62 * h) :] = grass
    cv2.rectangle(img, _pt(w, h, 0.0, 0.55), _pt(w, h, 1.0, 0.63), (60, 110, 150), -1)  # fence
    for i in range(20):
        x = (i + 0.5) / 20
        cv2.line(img, _pt(w, h, x, 0.52), _pt(w, h, x, 0.63), (50, 95, 130), 3)
    cv2.rectangle(img, _pt(w, h, 0.17, 0.40), _pt(w, h, 0.21, 0.80), (30, 60, 90), -1)  # trunk
    return img


def _workshop_background(w: int, h: int) -> Canvas:
    import cv2

    img = _vertical(h, w, (120, 140, 150), (95, 110, 120))
    cv2.rectangle(img, _pt(w, h, 0.05, 0.62), _pt(w, h, 0.95, 0.70), (50, 90, 140), -1)  # bench
    cv2.rectangle(img, _pt(w, h, 0.08, 0.70), _pt(w, h, 0.12, 0.98), (40, 70, 110), -1)
    cv2.rectangle(img, _pt(w, h, 0.88, 0.70), _pt(w, h, 0.92, 0.98), (40, 70, 110), -1)
    cv2.rectangle(img, _pt(w, h, 0.10, 0.20), _pt(w, h, 0.45, 0.55), (70, 80, 85), -1)  # pegboard
    for i in range(5):  # tools on the pegboard
        x = 0.14 + i * 0.065
        cv2.line(img, _pt(w, h, x, 0.26), _pt(w, h, x, 0.46), (30 + 40 * i, 60, 200 - 30 * i), 5)
    cv2.circle(img, _pt(w, h, 0.72, 0.33), int(0.16 * h), (235, 235, 235), -1)  # clock face
    cv2.circle(img, _pt(w, h, 0.72, 0.33), int(0.16 * h), (40, 40, 40), 3)
    return img


def _walker(img: Canvas, w: int, h: int, t: float, cycle: float, walk: float) -> None:
    """A person crossing the porch for ``walk`` s of every ``cycle`` s, drawn with an
    adult's proportions (a head is an eighth of the height), clothes and a walking
    swing of arms and legs: enough like a person that the built-in detector (YOLOv3-tiny)
    reports one, so ``camhub demo`` shows boxes and person events."""
    phase = t % cycle
    if phase > walk:
        return
    x = -0.1 + 1.2 * phase / walk
    _person(img, int(x * w), int(0.9 * h), 0.74 * h, phase * 4.0)


def _person(img: Canvas, cx: int, feet: int, height: float, stride: float) -> None:
    """A person seen from the side, feet at ``(cx, feet)``; ``stride`` (radians) sets
    where the legs and arms are in their swing."""
    import cv2

    u = height / 8.0
    top = feet - height
    swing = math.sin(stride)
    skin, shirt, trousers = (120, 150, 200), (150, 90, 40), (60, 50, 45)  # BGR

    def at(dx: float, dy: float) -> tuple[int, int]:
        return int(cx + dx * u), int(top + dy * u)

    for side in (1, -1):  # legs: thigh, shin, shoe
        knee, foot = at(side * swing * 0.5, 6.0), at(side * swing * 1.1, 7.8)
        cv2.line(img, at(side * 0.35, 4.1), knee, trousers, max(2, int(0.75 * u)))
        cv2.line(img, knee, foot, trousers, max(2, int(0.65 * u)))
        shoe = (foot[0] + int(0.3 * u), foot[1])
        cv2.ellipse(img, shoe, (int(0.55 * u), int(0.22 * u)), 0, 0, 360, (30, 30, 30), -1)
    torso = np.array([at(-1.0, 1.6), at(1.0, 1.6), at(0.75, 4.3), at(-0.75, 4.3)], np.int32)
    cv2.fillConvexPoly(img, torso, shirt)
    for side in (1, -1):  # arms swing against the legs
        elbow = at(side * 0.95 - side * swing * 0.6, 3.1)
        hand = at(side * 0.9 - side * swing * 1.1, 4.2)
        cv2.line(img, at(side * 0.9, 1.8), elbow, shirt, max(2, int(0.5 * u)))
        cv2.line(img, elbow, hand, skin, max(2, int(0.4 * u)))
        cv2.circle(img, hand, max(1, int(0.25 * u)), skin, -1)
    cv2.line(img, at(0, 1.1), at(0, 1.7), skin, max(2, int(0.4 * u)))  # neck
    cv2.ellipse(img, at(0, 0.6), (int(0.42 * u), int(0.55 * u)), 0, 0, 360, skin, -1)
    cv2.ellipse(img, at(0, 0.35), (int(0.45 * u), int(0.35 * u)), 0, 180, 360, (30, 40, 60), -1)


def _lamp(img: Canvas, w: int, h: int, t: float) -> None:
    import cv2

    level = 0.75 + 0.25 * math.sin(t * 0.7) + (0.15 if int(t * 3) % 17 == 0 else 0.0)
    cone = np.array([_pt(w, h, 0.5, 0.05), _pt(w, h, 0.25, 0.75), _pt(w, h, 0.75, 0.75)], np.int32)
    overlay = img.copy()
    cv2.fillConvexPoly(overlay, cone, (160, 220, 240))
    cv2.addWeighted(overlay, 0.18 * level, img, 1 - 0.18 * level, 0, dst=img)
    cv2.rectangle(img, _pt(w, h, 0.46, 0.02), _pt(w, h, 0.54, 0.06),
                  (int(120 * level), int(230 * level), int(255 * level)), -1)  # fmt: skip


def _garden(img: Canvas, w: int, h: int, t: float) -> None:
    import cv2

    sun = (0.1 + 0.8 * ((t / 120) % 1.0), 0.15 + 0.05 * math.sin(t / 40))
    cv2.circle(img, _pt(w, h, *sun), int(0.06 * h), (80, 220, 255), -1)
    sway = 0.015 * math.sin(t * 1.3)
    for dx, dy, r in ((0.0, 0.30, 0.12), (-0.06, 0.36, 0.09), (0.06, 0.36, 0.09)):
        cv2.circle(img, _pt(w, h, 0.19 + dx + sway, dy), int(r * h), (40, 120, 40), -1)
    bounce = abs(math.sin(t * 2.2))
    x = 0.55 + 0.3 * math.sin(t * 0.35)
    cv2.circle(img, _pt(w, h, x, 0.88 - 0.22 * bounce), int(0.035 * h), (40, 60, 230), -1)


def _clock_hand(img: Canvas, w: int, h: int, t: float) -> None:
    import cv2

    centre = _pt(w, h, 0.72, 0.33)
    angle = (t % 60) / 60 * 2 * math.pi
    r = 0.14 * h
    tip = (int(centre[0] + r * math.sin(angle)), int(centre[1] - r * math.cos(angle)))
    cv2.line(img, centre, tip, (40, 40, 200), max(2, w // 200))
    cv2.circle(img, centre, max(3, w // 120), (40, 40, 40), -1)


@dataclass(frozen=True, slots=True)
class Scene:
    background: Callable[[int, int], Canvas]
    animate: Callable[[Canvas, int, int, float], None]


_SCENES = {
    "porch": Scene(_porch_background, lambda img, w, h, t: _walker(img, w, h, t, 16.0, 6.0)),
    "garage": Scene(_garage_background, _lamp),
    "garden": Scene(_garden_background, _garden),
    "workshop": Scene(_workshop_background, _clock_hand),
}


class SceneSource(ThreadedSource):
    """A :class:`ThreadedSource` drawing one of :data:`SCENES` at ``fps``; with
    ``outage=(every, length)`` it goes dark for ``length`` s of every ``every`` s, as a
    camera that loses power does (the stream ends, reconnects fail, then it is back)."""

    kind = "scene"

    def __init__(
        self,
        scene: str,
        name: str,
        size: tuple[int, int] = (640, 480),
        fps: float = 15.0,
        *,
        outage: tuple[float, float] | None = None,
        timeouts: SourceTimeouts | None = None,
    ) -> None:
        if scene not in _SCENES:
            raise ArgumentError(f"unknown scene {scene!r}; known: {', '.join(SCENES)}")
        super().__init__(f"demo scene {scene}", name, timeouts)
        self.scene = _SCENES[scene]
        self.width, self.height = size
        self.fps = fps
        self.outage = outage
        self._born: float | None = None
        """When the camera first streamed (``self.clock``): the scene's time and the
        outage cycle count from there."""

    def _dark_for(self) -> float:
        """Seconds until power comes back, or 0 while the camera is on."""
        if self.outage is None:
            return 0.0
        every, length = self.outage
        phase = (self.clock.monotonic() - (self._born or 0.0)) % every
        return max(0.0, phase - (every - length)) and every - phase

    def _stream(self) -> None:
        import cv2

        w, h = self.width, self.height
        background = self.scene.background(w, h)
        scale = max(0.4, w / 1300)
        period = 1.0 / self.fps
        pace = self.clock
        next_at = pace.monotonic()
        if self._born is None:
            self._born = next_at
        born = self._born
        while not self.stopping:
            dark = self._dark_for()
            if dark:
                raise ConnectionError(f"the camera lost power (demo: back in {dark:.0f} s)")
            now = time.time()
            canvas = background.copy()
            self.scene.animate(canvas, w, h, pace.monotonic() - born)
            # Bottom right, as camera OSDs put it (the dashboard's badges sit top left).
            stamp = f"{self.name}  {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(now))}"
            (tw, _th), base = cv2.getTextSize(stamp, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
            cv2.putText(canvas, stamp, (w - tw - 10, h - base - 6), cv2.FONT_HERSHEY_SIMPLEX,
                        scale, (255, 255, 255), max(1, int(2 * scale)), cv2.LINE_AA)  # fmt: skip
            jpeg = encode_jpeg(canvas, quality=QUALITY)
            self._emit(jpeg=jpeg, width=w, height=h, captured_at=now)
            next_at = max(next_at + period, pace.monotonic() - period)
            if pace.wait(self._stop, max(0.0, next_at - pace.monotonic())):
                return


_FORM = re.compile(
    r"^scene:([a-z]+)(?::(\d{1,4})x(\d{1,4}))?(?:@(\d+(?:\.\d+)?))?"
    r"(?:\?outage=(\d+(?:\.\d+)?),(\d+(?:\.\d+)?))?$"
)


def _parse(text: str) -> SourceSpec:
    m = _FORM.match(text)
    if m is None:
        raise SourceURIError(
            f"bad scene {text!r}: expected scene:NAME[:WIDTHxHEIGHT][@FPS][?outage=EVERY,LENGTH] "
            "(e.g. scene:porch:640x480@15)"
        )
    scene, width, height, fps, every, length = m.groups()
    if scene not in _SCENES:
        raise SourceURIError(f"bad scene {text!r}: unknown scene; known: {', '.join(SCENES)}")
    size = (int(width or 640), int(height or 480))
    if not all(16 <= n <= 4096 for n in size):
        raise SourceURIError(f"bad scene {text!r}: size must be 16x16 to 4096x4096")
    if not 0 < float(fps or 15) <= 120:
        raise SourceURIError(f"bad scene {text!r}: fps must be in (0, 120]")
    params = {"scene": scene}
    if every is not None:
        if not 0 < float(length) < float(every) <= 3600:
            raise SourceURIError(f"bad scene {text!r}: outage needs 0 < LENGTH < EVERY <= 3600 s")
        params["outage"] = f"{every},{length}"
    return SourceSpec(
        "scene", text, text, width=size[0], height=size[1], fps=float(fps or 15), params=params
    )


def _open(spec: SourceSpec, name: str, options: OpenOptions) -> SceneSource:
    assert spec.width is not None and spec.height is not None and spec.fps is not None
    outage = spec.params.get("outage")
    every, length = (float(n) for n in outage.split(",")) if outage else (0.0, 0.0)
    return SceneSource(
        spec.params["scene"],
        name,
        (spec.width, spec.height),
        spec.fps,
        outage=(every, length) if outage else None,
        timeouts=options.timeouts,
    )


register_source(
    SourceKind(
        "scene",
        _open,
        _parse,
        words=("scene:",),
        forms=(
            SourceForm(
                "scene:NAME[:WxH@FPS]",
                "scene:NAME",
                f"a synthetic demo scene ({', '.join(SCENES)}; ?outage=EVERY,LENGTH s)",
            ),
        ),
        name_of=lambda spec: spec.params["scene"],
    )
)
