"""A source kind that exists only in the tests, in one module as any kind is: random
noise, ``noise://`` or ``noise://?size=WxH&fps=N``. Nothing else in camhub names it; the
one registration line, ``register_source(NOISE)``, is where a test wants it."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

import numpy as np

from camhub.sources import (
    SourceForm,
    SourceKind,
    SourceSpec,
    SourceTimeouts,
    SourceURIError,
    ThreadedSource,
)

OPTIONS = {"size": "WIDTHxHEIGHT, 16x16 to 4096x4096 (320x240)", "fps": "0 < N <= 60 (10)"}


class NoiseSource(ThreadedSource):
    """Frames of uniform random pixels (raw arrays) at the asked rate."""

    def __init__(self, spec: SourceSpec, name: str, timeouts: SourceTimeouts) -> None:
        super().__init__(spec.display, name, timeouts)
        assert spec.width is not None and spec.height is not None and spec.fps is not None
        self.size, self.fps = (spec.width, spec.height), spec.fps

    def _stream(self) -> None:
        rng = np.random.default_rng()
        width, height = self.size
        while not self.stopping:
            picture = rng.integers(0, 256, (height, width, 3), np.uint8)
            self._emit(array=picture, width=width, height=height)
            if self._stop.wait(1.0 / self.fps):
                return


def parse(text: str) -> SourceSpec:
    parts = urlsplit(text)
    if parts.netloc or parts.path or parts.fragment:
        raise SourceURIError(f"bad noise source {text!r}: expected noise://?size=WxH&fps=N")
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise SourceURIError(
            f"bad noise source {text!r}: unknown option {unknown[0]!r} "
            f"(known: {', '.join(f'{k}={v}' for k, v in OPTIONS.items())})"
        )
    size = re.fullmatch(r"(\d{1,4})x(\d{1,4})", options.get("size", "320x240"))
    width, height = (int(size.group(1)), int(size.group(2))) if size else (0, 0)
    if not (16 <= width <= 4096 and 16 <= height <= 4096):
        raise SourceURIError(f"bad noise source {text!r}: size must be {OPTIONS['size']}")
    try:
        fps = float(options.get("fps", "10"))
    except ValueError:
        fps = 0.0
    if not 0 < fps <= 60:
        raise SourceURIError(f"bad noise source {text!r}: fps must be {OPTIONS['fps']}")
    return SourceSpec("noise", text, text, width=width, height=height, fps=fps)


NOISE = SourceKind(
    "noise",
    lambda spec, name, options: NoiseSource(spec, name, options.timeouts),
    parse,
    schemes=("noise",),
    forms=(SourceForm("noise://[?size=WxH&fps=N]", "noise://", "random noise (tests only)"),),
)
