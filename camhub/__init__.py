"""camhub: turn phones, webcams and Pis into one live camera network.

A drop-in for imagezmq (``import camhub as imagezmq``) that never hangs, plus a native
API: :class:`Sender`/:class:`Publisher` push :class:`Frame` objects to a :class:`Hub`,
which keeps the newest frame of every camera for the dashboard and your own code.
"""

from camhub.agent import Agent, CameraJob
from camhub.compat import ImageHub, ImageSender
from camhub.config import ConfigError, FleetConfig, load_config
from camhub.hub import FrameFeed, Hub
from camhub.jpeg import JpegError, decode_jpeg, encode_jpeg
from camhub.latest import LatestSlot
from camhub.processing import Detection, Processor, ProcessorRunner, Result
from camhub.protocol import Limits, ProtocolError
from camhub.security import CurveClient, CurveServer, HubRefused
from camhub.sender import BackgroundSender, Publisher, Sender, SenderStats
from camhub.sources import SourceTimeout, open_source
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
from camhub.videostream import VideoStream
from camhub.web.server import WebServer

__version__ = "0.1.0"

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
