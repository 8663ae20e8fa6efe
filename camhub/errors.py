"""camhub's error classes: one tree under :class:`CamhubError`, so callers can catch
everything camhub raises on purpose with one ``except``. The bottom of the layering:
imports nothing of camhub's."""

from __future__ import annotations


class CamhubError(Exception):
    """Base class of every error camhub raises on purpose."""


class ArgumentError(CamhubError, ValueError):
    """A function was given a value it cannot work with (a window of 0, an empty token)."""


class ArgumentTypeError(CamhubError, TypeError):
    """A function was given the wrong kind of object (a processor that is not one)."""


class ReceiveTimeout(CamhubError, TimeoutError):
    """Nothing arrived within the timeout a receive call was given."""


class SlotClosed(CamhubError, EOFError):
    """The latest-frame slot was closed and holds nothing more."""


class SendTimeout(CamhubError, TimeoutError):
    """A frame could not be delivered to the hub within the sender's timeout."""


class SourceError(CamhubError):
    """A camera source could not be opened or read (bad URL, unreachable camera...)."""


class SourceEnded(SourceError):
    """A finite source (a video file without loop) has no more frames."""


class VideoError(CamhubError):
    """A video frame's picture cannot be made: its group lost a packet before it (a
    broken reference), the decoder could not decode it, or it came without the packets
    it depends on."""
