"""The part of an RTSP camera's SDP description (RFC 8866) a client needs: each media
section's payload type, codec, clock rate, format parameters and control URL."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from urllib.parse import urljoin

from camhub.errors import SourceError
from camhub.video.packet import Codec

_CODECS: dict[str, Codec] = {"H264": "h264", "H265": "hevc", "HEVC": "hevc"}


class SDPError(SourceError, ValueError):
    """A session description without what camhub needs to play it."""


@dataclass(slots=True)
class Media:
    kind: str
    """``video``, ``audio``, ``application``..."""
    payload_type: int
    encoding: str = ""
    """The rtpmap name as the camera wrote it (``H264``, ``PCMU``, ``JPEG``...)."""
    clock_rate: int = 90_000
    fmtp: dict[str, str] = field(default_factory=dict)
    control: str = ""

    @property
    def codec(self) -> Codec | None:
        """camhub's name for the video codec, if it is one camhub passes through."""
        return _CODECS.get(self.encoding.upper())

    def parameter_sets(self) -> list[bytes]:
        """The parameter sets the camera announces out of band (``sprop-*``), in the order
        a decoder wants them (VPS, SPS, PPS); bad base64 is skipped."""
        keys = ("sprop-parameter-sets",) if self.codec == "h264" else (
            "sprop-vps", "sprop-sps", "sprop-pps"
        )  # fmt: skip
        sets: list[bytes] = []
        for key in keys:
            for item in self.fmtp.get(key, "").split(","):
                try:
                    unit = base64.b64decode(item.strip(), validate=True)
                except (binascii.Error, ValueError):
                    continue
                if unit:
                    sets.append(unit)
        return sets

    def url(self, base: str) -> str:
        """The URL to SETUP this media at (its control attribute against ``base``)."""
        return _control_url(self.control, base)


@dataclass(slots=True)
class Session:
    media: list[Media]
    control: str = ""

    def url(self, base: str) -> str:
        """The URL that controls the whole session (PLAY, TEARDOWN)."""
        return _control_url(self.control, base)

    def video(self) -> Media | None:
        """The first video section camhub can pass through, else the first video section."""
        videos = [m for m in self.media if m.kind == "video"]
        passable = [m for m in videos if m.codec is not None]
        best = passable or videos
        return best[0] if best else None


def _control_url(control: str, base: str) -> str:
    if not control or control == "*":
        return base
    if "://" in control:
        return control
    return urljoin(base if base.endswith("/") else base + "/", control)


def parse_sdp(text: str) -> Session:
    """Parse a session description; :class:`SDPError` when it has no media."""
    session = Session(media=[])
    current: Media | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if len(line) < 2 or line[1] != "=":
            continue
        key, value = line[0], line[2:]
        if key == "m":
            parts = value.split()
            if len(parts) < 4 or not parts[3].isdigit():
                raise SDPError(f"malformed media line {line!r}")
            current = Media(kind=parts[0], payload_type=int(parts[3]))
            session.media.append(current)
        elif key == "a":
            name, _, attr = value.partition(":")
            if current is None:
                if name == "control":
                    session.control = attr.strip()
                continue
            _attribute(current, name, attr.strip())
    if not session.media:
        raise SDPError("the session description lists no media")
    return session


def _attribute(media: Media, name: str, value: str) -> None:
    if name == "control":
        media.control = value
    elif name in ("rtpmap", "fmtp"):
        pt, _, rest = value.partition(" ")
        if pt != str(media.payload_type):
            return
        if name == "rtpmap":
            parts = rest.strip().split("/")
            media.encoding = parts[0]
            if len(parts) > 1 and parts[1].isdigit() and int(parts[1]) > 0:
                media.clock_rate = int(parts[1])
        else:
            for item in rest.split(";"):
                k, _, v = item.strip().partition("=")
                if k:
                    media.fmtp[k.strip().lower()] = v.strip()
