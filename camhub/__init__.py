"""camhub: turn phones, webcams and Pis into one live camera network.

A drop-in for imagezmq (``import camhub as imagezmq``) that never hangs, plus a native
API: :class:`Sender`/:class:`Publisher` push :class:`Frame` objects to a :class:`Hub`,
which keeps the newest frame of every camera for the dashboard and your own code.

``import camhub`` loads only what the drop-in and the hub's ingest need (pyzmq, numpy,
the JPEG codec). The dashboard, config files, processors, detectors, recorder, sinks and
camera sources (uvicorn, starlette, pydantic, yaml, OpenCV, PyAV...) load on first use
of their names (PEP 562), so a Pi Zero running the tutorial loop pays for none of them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from camhub.bus import EventBus
from camhub.compat import ImageHub, ImageSender
from camhub.hub import Hub
from camhub.jpeg import JpegError, decode_jpeg, encode_jpeg
from camhub.latest import LatestSlot
from camhub.protocol import Limits, ProtocolError
from camhub.receiver import Receiver
from camhub.security import CurveClient, CurveServer, HubRefused
from camhub.sender import BackgroundSender, Publisher, Sender, SenderStats
from camhub.store import CameraStore, FrameFeed, FrameSubscription
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
    VideoError,
)
from camhub.video import VideoPacket
from camhub.video.gop import GopQueue

if TYPE_CHECKING:
    from camhub.agent import Agent, CameraJob
    from camhub.config import ConfigError, FleetConfig, load_config
    from camhub.datadir import DataDirError
    from camhub.detect import Box, Detector
    from camhub.detect.scheduler import ObjectDetection
    from camhub.distributed import ClusterError, RayOptions, RayPool
    from camhub.events import Event, EventStore, EventTracker, EventUpdate
    from camhub.history import History
    from camhub.notify import MqttSettings, MqttSink, Sink, WebhookSettings, WebhookSink
    from camhub.processing import Detection, Processor, ProcessorRunner, Result
    from camhub.puller import Puller
    from camhub.record import CameraRecording, Recorder, RecordSettings
    from camhub.sources import SourceTimeout, open_source
    from camhub.videostream import VideoStream
    from camhub.web.server import WebServer

__version__ = "0.1.0"

_LAZY = {
    "Agent": "camhub.agent",
    "Box": "camhub.detect",
    "CameraJob": "camhub.agent",
    "CameraRecording": "camhub.record",
    "ClusterError": "camhub.distributed",
    "ConfigError": "camhub.config",
    "DataDirError": "camhub.datadir",
    "Detection": "camhub.processing",
    "Detector": "camhub.detect",
    "Event": "camhub.events",
    "EventStore": "camhub.events",
    "EventTracker": "camhub.events",
    "EventUpdate": "camhub.events",
    "FleetConfig": "camhub.config",
    "History": "camhub.history",
    "MqttSettings": "camhub.notify",
    "MqttSink": "camhub.notify",
    "ObjectDetection": "camhub.detect.scheduler",
    "Processor": "camhub.processing",
    "ProcessorRunner": "camhub.processing",
    "Puller": "camhub.puller",
    "RayOptions": "camhub.distributed",
    "RayPool": "camhub.distributed",
    "RecordSettings": "camhub.record",
    "Recorder": "camhub.record",
    "Result": "camhub.processing",
    "Sink": "camhub.notify",
    "SourceTimeout": "camhub.sources",
    "VideoStream": "camhub.videostream",
    "WebServer": "camhub.web.server",
    "WebhookSettings": "camhub.notify",
    "WebhookSink": "camhub.notify",
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
    "Box",
    "CameraJob",
    "CameraRecording",
    "CameraStats",
    "CameraStore",
    "CamhubError",
    "ClusterError",
    "ConfigError",
    "CurveClient",
    "CurveServer",
    "DataDirError",
    "Detection",
    "Detector",
    "Event",
    "EventBus",
    "EventStore",
    "EventTracker",
    "EventUpdate",
    "FleetConfig",
    "Frame",
    "FrameFeed",
    "FrameSource",
    "FrameStore",
    "FrameSubscription",
    "GopQueue",
    "History",
    "Hub",
    "HubEvent",
    "HubRefused",
    "ImageHub",
    "ImageSender",
    "JpegError",
    "LatestSlot",
    "Limits",
    "MqttSettings",
    "MqttSink",
    "ObjectDetection",
    "Processor",
    "ProcessorRunner",
    "ProtocolError",
    "Publisher",
    "Puller",
    "RayOptions",
    "RayPool",
    "ReceiveTimeout",
    "Receiver",
    "RecordSettings",
    "Recorder",
    "Result",
    "SendTimeout",
    "Sender",
    "SenderStats",
    "Sink",
    "SlotClosed",
    "SourceEnded",
    "SourceError",
    "SourceStatus",
    "SourceTimeout",
    "VideoError",
    "VideoPacket",
    "VideoStream",
    "WebServer",
    "WebhookSettings",
    "WebhookSink",
    "decode_jpeg",
    "encode_jpeg",
    "load_config",
    "open_source",
]
