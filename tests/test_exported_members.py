"""Pins the public API: changing it must be a deliberate act (update this list too)."""

import camhub

EXPECTED = [
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


def test_all_is_sorted_and_pinned() -> None:
    assert camhub.__all__ == sorted(camhub.__all__)
    assert camhub.__all__ == EXPECTED


def test_every_name_is_importable_and_typed() -> None:
    for name in camhub.__all__:
        assert getattr(camhub, name) is not None
