"""camhub: turn phones, webcams and Pis into one live camera network.

A drop-in for imagezmq (``import camhub as imagezmq``) that never hangs, plus a native
API: :class:`Sender`/:class:`Publisher` push :class:`Frame` objects to a :class:`Hub`,
which keeps the newest frame of every camera for the dashboard and your own code.
"""

from camhub.compat import ImageHub, ImageSender
from camhub.hub import FrameFeed, Hub, HubEvent
from camhub.jpeg import JpegError, decode_jpeg, encode_jpeg
from camhub.latest import LatestSlot
from camhub.protocol import Limits, ProtocolError
from camhub.sender import BackgroundSender, Publisher, Sender, SenderStats
from camhub.transport import AddressError
from camhub.types import (
    CameraStats,
    CamhubError,
    Frame,
    FrameSource,
    FrameStore,
    SendTimeout,
    SourceEnded,
    SourceError,
    SourceStatus,
)

__version__ = "0.1.0"

__all__ = [
    "AddressError",
    "BackgroundSender",
    "CameraStats",
    "CamhubError",
    "Frame",
    "FrameFeed",
    "FrameSource",
    "FrameStore",
    "Hub",
    "HubEvent",
    "ImageHub",
    "ImageSender",
    "JpegError",
    "LatestSlot",
    "Limits",
    "ProtocolError",
    "Publisher",
    "SendTimeout",
    "Sender",
    "SenderStats",
    "SourceEnded",
    "SourceError",
    "SourceStatus",
    "decode_jpeg",
    "encode_jpeg",
]
