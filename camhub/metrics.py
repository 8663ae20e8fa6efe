"""Prometheus text exposition (format 0.0.4): the one writer every component uses.

Each component that has numbers to show writes its own families into an
:class:`Exposition` (``camhub.detect.metrics``, ``camhub.distributed.metrics``, the
dashboard's hub families...); the web layer only collects them and serves the text.
Written by hand: a few dozen families do not justify a dependency. Imports nothing of
camhub's, so that any layer may use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Literal

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Labels = Sequence[tuple[str, str]]
Value = float | int | bool
Sample = tuple[Labels, Value]
Kind = Literal["counter", "gauge"]


def escape(value: str) -> str:
    """A label value as the text format wants it (backslash, newline, quote escaped)."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def number(value: Value) -> str:
    """A sample value: booleans as 1/0, integers as they are, floats without noise."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    # Rounded so that sums such as 0.0021000000000000003 print as 0.0021; 6 decimals keep
    # microseconds in Unix timestamps.
    return repr(round(float(value), 6))


def _labels(pairs: Labels) -> str:
    if not pairs:
        return ""
    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in pairs) + "}"


class Exposition:
    """Metric families in the order they are written; :meth:`text` is the page."""

    def __init__(self) -> None:
        self._lines: list[str] = []

    def family(self, name: str, kind: Kind, help_text: str, samples: Iterable[Sample]) -> None:
        self._lines.append(f"# HELP {name} {help_text}")
        self._lines.append(f"# TYPE {name} {kind}")
        self._lines.extend(f"{name}{_labels(labels)} {number(value)}" for labels, value in samples)

    def counter(self, name: str, help_text: str, samples: Iterable[Sample]) -> None:
        self.family(name, "counter", help_text, samples)

    def gauge(self, name: str, help_text: str, samples: Iterable[Sample]) -> None:
        self.family(name, "gauge", help_text, samples)

    def text(self) -> str:
        return "\n".join(self._lines) + "\n" if self._lines else ""


Collector = Callable[[Exposition], None]
"""Writes one component's families (``collect(out)``); ``/metrics`` calls each in turn."""


def render(collectors: Iterable[Collector]) -> str:
    """The exposition text of every collector, in order."""
    out = Exposition()
    for collect in collectors:
        collect(out)
    return out.text()


def single(value: Value) -> list[Sample]:
    """One sample without labels (a hub-wide total)."""
    return [((), value)]
