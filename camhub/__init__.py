"""camhub: turn phones, webcams and Pis into one live camera network.

A drop-in for imagezmq (``import camhub as imagezmq``) that never hangs, plus a native
API: :class:`Sender`/:class:`Publisher` push :class:`Frame` objects to a :class:`Hub`,
which keeps the newest frame of every camera for the dashboard and your own code.

``import camhub`` loads only what the drop-in needs (pyzmq, numpy, the JPEG codec). The
dashboard, config files, processors and camera sources (uvicorn, starlette, pydantic,
yaml, OpenCV, PyAV) load on first use of their names (PEP 562), so a Pi Zero running
the tutorial loop pays for none of them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from camhub.compat import ImageHub, ImageSender
from camhub.hub import FrameFeed, Hub
from camhub.jpeg import JpegError, decode_jpeg, encode_jpeg
from camhub.latest import LatestSlot
from camhub.protocol import Limits, ProtocolError
from camhub.security import CurveClient, CurveServer, HubRefused
from camhub.sender import BackgroundSender, Publisher, Sender, SenderStats
from camhub.transport import AddressError
from camhub.types import (
    ArgumentError,
    ArgumentTypeError,
    CameraStats,
    CamhubError,
    Frame,
    FrameSource,
    FrameStore,
    HubEvent,
    ReceiveTimeout,
    SendTimeout,
    SlotClosed,
    SourceEnded,
    SourceError,
    SourceStatus,
)

if TYPE_CHECKING:
    from camhub.agent import Agent, CameraJob
    from camhub.config import ConfigError, FleetConfig, load_config
    from camhub.processing import Detection, Processor, ProcessorRunner, Result
    from camhub.sources import SourceTimeout, open_source
    from camhub.videostream import VideoStream
    from camhub.web.server import WebServer

__version__ = "0.1.0"

_LAZY = {
    "Agent": "camhub.agent",
    "CameraJob": "camhub.agent",
    "ConfigError": "camhub.config",
    "Detection": "camhub.processing",
    "FleetConfig": "camhub.config",
    "Processor": "camhub.processing",
    "ProcessorRunner": "camhub.processing",
    "Result": "camhub.processing",
    "SourceTimeout": "camhub.sources",
    "VideoStream": "camhub.videostream",
    "WebServer": "camhub.web.server",
    "load_config": "camhub.config",
    "open_source": "camhub.sources",
}
"""Public names whose modules pull in heavy packages, and where they live."""

if not TYPE_CHECKING:  # type checkers see the imports above instead

    def __getattr__(name: str) -> Any:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'camhub' has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value  # later lookups skip this function
        return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "AddressError",
    "Agent",
    "ArgumentError",
    "ArgumentTypeError",
    "BackgroundSender",
    "CameraJob",
    "CameraStats",
    "CamhubError",
    "ConfigError",
    "CurveClient",
    "CurveServer",
    "Detection",
    "FleetConfig",
    "Frame",
    "FrameFeed",
    "FrameSource",
    "FrameStore",
    "Hub",
    "HubEvent",
    "HubRefused",
    "ImageHub",
    "ImageSender",
    "JpegError",
    "LatestSlot",
    "Limits",
    "Processor",
    "ProcessorRunner",
    "ProtocolError",
    "Publisher",
    "ReceiveTimeout",
    "Result",
    "SendTimeout",
    "Sender",
    "SenderStats",
    "SlotClosed",
    "SourceEnded",
    "SourceError",
    "SourceStatus",
    "SourceTimeout",
    "VideoStream",
    "WebServer",
    "decode_jpeg",
    "encode_jpeg",
    "load_config",
    "open_source",
]
