"""Pins the public API: changing it must be a deliberate act (update this list too)."""

import camhub

EXPECTED = [
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


def test_all_is_sorted_and_pinned() -> None:
    assert camhub.__all__ == sorted(camhub.__all__)
    assert camhub.__all__ == EXPECTED


def test_every_name_is_importable_and_typed() -> None:
    for name in camhub.__all__:
        assert getattr(camhub, name) is not None
