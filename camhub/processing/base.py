"""What a processor is: a small lifecycle (``start``, ``process``, ``stop``), what it may
return, and the registry that maps a type name (``"motion"``) to its class."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar, TypeAlias

import numpy as np

from camhub.events.model import EventUpdate
from camhub.types import ArgumentError, ArgumentTypeError, CameraName, CamhubError, Frame, Image


@dataclass(slots=True)
class Detection:
    """One thing a processor found: a label and a box ``(x, y, w, h)`` in frame pixels."""

    label: str
    box: tuple[int, int, int, int]
    score: float | None = None

    def as_dict(self) -> dict[str, object]:
        return {"label": self.label, "box": list(self.box), "score": self.score}


@dataclass(slots=True)
class Result:
    """What ``process`` returns: an annotated image, detections and/or free-form data.

    With detections but no image, the runner draws the boxes on the frame itself, so the
    dashboard always has a picture to show as the processor's view.
    """

    image: Image | None = None
    detections: list[Detection] = field(default_factory=list)
    data: dict[str, object] = field(default_factory=dict)
    events: list[EventUpdate] = field(default_factory=list)
    """Event changes this frame caused (see :class:`camhub.events.EventTracker`); the
    runner hands them to its listeners, and the service publishes them on the bus."""


Output: TypeAlias = Result | Image | Mapping[str, object] | None
"""``process`` may also return a bare image, a bare mapping (data) or ``None``."""


def as_result(output: Output) -> Result:
    if output is None:
        return Result()
    if isinstance(output, Result):
        return output
    if isinstance(output, np.ndarray):
        return Result(image=output)
    if isinstance(output, Mapping):
        return Result(data=dict(output))
    raise ArgumentTypeError(
        f"a processor must return a Result, an image (numpy array), a dict or None, "
        f"not {type(output).__name__}"
    )


class Processor:
    """Base class of user vision code. The runner makes one instance per camera and
    calls it from that camera's own worker thread, so instances may keep state
    (a background model, a tracker) without locks."""

    type_name: ClassVar[str] = ""
    """Registry key, e.g. ``"motion"``; also the name of the view on the dashboard."""

    def start(self, camera: CameraName) -> None:
        """Called once, in the worker thread, before the first frame."""

    def process(self, frame: Frame) -> Output:
        raise NotImplementedError

    def stop(self) -> None:
        """Called once, in the worker thread, after the last frame."""

    def idle(self, now: float) -> list[EventUpdate]:
        """Called in the worker thread when no new frame has come for a moment (about
        every 0.25 s while the camera is quiet): return the event changes that time alone
        causes, such as the end of motion on a camera that stopped sending."""
        return []


class FunctionProcessor(Processor):
    """Adapts a plain ``fn(frame) -> Output`` to the lifecycle (shared by all cameras)."""

    def __init__(self, fn: Callable[[Frame], Output]) -> None:
        self.fn = fn

    def process(self, frame: Frame) -> Output:
        return self.fn(frame)


class UnknownProcessor(CamhubError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


_REGISTRY: dict[str, type[Processor]] = {}


def register(cls: type[Processor]) -> type[Processor]:
    """Class decorator: make ``cls`` available by its ``type_name``."""
    if not cls.type_name or not cls.type_name.isidentifier():
        raise ArgumentError(f"{cls.__name__}.type_name must be a short identifier")
    _REGISTRY[cls.type_name] = cls
    return cls


def processor_types() -> list[str]:
    return sorted(_REGISTRY)


def processor_class(type_name: str) -> type[Processor]:
    try:
        return _REGISTRY[type_name]
    except KeyError:
        known = ", ".join(processor_types()) or "none"
        raise UnknownProcessor(f"unknown processor {type_name!r} (known: {known})") from None
