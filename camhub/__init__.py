"""camhub: turn phones, webcams and Pis into one live camera network.

A drop-in for imagezmq (``import camhub as imagezmq``) that never hangs, plus a native
API: :class:`Sender`/:class:`Publisher` push :class:`Frame` objects to a :class:`Hub`,
which keeps the newest frame of every camera for the dashboard and your own code.
"""

from camhub.agent import Agent, CameraJob
from camhub.bus import EventBus
from camhub.compat import ImageHub, ImageSender
from camhub.config import ConfigError, FleetConfig, load_config
from camhub.distributed import ClusterError, RayOptions, RayPool
from camhub.events import Event, EventUpdate
from camhub.hub import Hub
from camhub.jpeg import JpegError, decode_jpeg, encode_jpeg
from camhub.latest import LatestSlot
from camhub.processing import Detection, Processor, ProcessorRunner, Result
from camhub.protocol import Limits, ProtocolError
from camhub.receiver import Receiver
from camhub.security import CurveClient, CurveServer, HubRefused
from camhub.sender import BackgroundSender, Publisher, Sender, SenderStats
from camhub.sources import SourceTimeout, open_source
from camhub.store import CameraStore, FrameFeed, FrameSubscription
from camhub.transport import AddressError
from camhub.types import (
    CameraStats,
    CamhubError,
    Frame,
    FrameSource,
    FrameStore,
    HubEvent,
    SendTimeout,
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
    "BackgroundSender",
    "CameraJob",
    "CameraStats",
    "CameraStore",
    "CamhubError",
    "ClusterError",
    "ConfigError",
    "CurveClient",
    "CurveServer",
    "Detection",
    "Event",
    "EventBus",
    "EventUpdate",
    "FleetConfig",
    "Frame",
    "FrameFeed",
    "FrameSource",
    "FrameStore",
    "FrameSubscription",
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
    "RayOptions",
    "RayPool",
    "Receiver",
    "Result",
    "SendTimeout",
    "Sender",
    "SenderStats",
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
