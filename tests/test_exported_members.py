"""Pins the public API: changing it must be a deliberate act (update this list too)."""

import camhub

EXPECTED = [
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


def test_all_is_sorted_and_pinned() -> None:
    assert camhub.__all__ == sorted(camhub.__all__)
    assert camhub.__all__ == EXPECTED


def test_every_name_is_importable_and_typed() -> None:
    for name in camhub.__all__:
        assert getattr(camhub, name) is not None
