"""Pins the public API: changing it must be a deliberate act (update this list too)."""

import camhub

EXPECTED = [
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
    "VideoStream",
    "WebServer",
    "WebhookSettings",
    "WebhookSink",
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
