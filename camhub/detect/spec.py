"""What a worker process or a Ray actor builds: one :class:`DetectorSpec`, one ``build()``.

The spec is small and picklable (a type name, keyword options, modules to import), so the
hub sends it to wherever the detector runs; ``build()`` there imports the modules (where
third-party backends register themselves), creates the detector, loads it and warms it up.
Nothing here knows any backend by name.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from camhub.detect.base import BackendConfig, Detector, create_detector


@dataclass(frozen=True, slots=True)
class DetectorSpec:
    """What each worker builds: ``create_detector(type_name, **options)``, after
    importing ``modules`` (where third-party detectors register themselves)."""

    type_name: str = "darknet"
    options: dict[str, Any] = field(default_factory=dict)
    modules: tuple[str, ...] = ()
    threads: int = 1
    """Native threads per worker (OpenCV, and the detector's own ``threads``)."""

    @classmethod
    def of(
        cls, config: BackendConfig, *, threads: int = 1, modules: tuple[str, ...] = ()
    ) -> DetectorSpec:
        """The spec of a backend's config section."""
        return cls(config.type, config.options(), modules=modules, threads=threads)

    def build(self, *, warm_up: bool = True) -> Detector:
        """Create, load and (by default) warm up the detector, in this process.

        Raises :class:`~camhub.detect.base.DetectorError` (or whatever the backend raises)
        when the model cannot load; the caller reports it."""
        import cv2

        # The worker or actor was given `threads` CPUs; OpenCV would otherwise use every
        # core of the machine and fight the other workers there.
        cv2.setNumThreads(self.threads)
        for module in self.modules:
            importlib.import_module(module)
        importlib.import_module("camhub.detect")  # the built-in backends register there
        detector = create_detector(self.type_name, **self.options)
        if "threads" not in self.options:
            detector.threads = self.threads
        detector.load()
        if warm_up:
            detector.warm_up()
        return detector
