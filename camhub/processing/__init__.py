"""Run your own vision code on every camera: see :class:`ProcessorRunner` and
:class:`Processor`. ``camhub.processing.motion`` is a complete example."""

from camhub.processing import motion as _motion  # noqa: F401  (registers "motion")
from camhub.processing.base import (
    Detection,
    FunctionProcessor,
    Output,
    Processor,
    Result,
    UnknownProcessor,
    processor_class,
    processor_types,
    register,
)
from camhub.processing.motion import MotionProcessor
from camhub.processing.runner import ProcessorRunner, ProcessorUpdate, WorkerStats

__all__ = [
    "Detection",
    "FunctionProcessor",
    "MotionProcessor",
    "Output",
    "Processor",
    "ProcessorRunner",
    "ProcessorUpdate",
    "Result",
    "UnknownProcessor",
    "WorkerStats",
    "processor_class",
    "processor_types",
    "register",
]
