"""Turn a source string (``rtsp://...``, ``0``, ``testsrc:640x480@30``, ...) into a
:class:`SourceSpec` saying which kind of source to open and how.

Parsing is pure (no network, no file-system access) so that config validation can use
it; problems an open would find (a missing file, a refused port) are reported later by
the source itself. Every string a user might see goes through :func:`redact` so that
passwords in URLs never reach logs.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, replace
from pathlib import PurePath
from typing import Literal
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit, urlunsplit

from camhub.types import SourceError

SourceKind = Literal[
    "rtsp", "ipwebcam", "mjpeg", "snapshot", "webcam", "file", "testsrc", "picamera"
]

IPWEBCAM_PORT = 8080
DROIDCAM_PORT = 4747
VIDEO_SUFFIXES = frozenset(
    {".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v", ".mjpeg", ".mjpg", ".h264", ".ts", ".flv"}
)
SNAPSHOT_SUFFIXES = (".jpg", ".jpeg")
SCHEMES = ("rtsp", "rtsps", "http", "https", "ipwebcam", "droidcam", "file")


@dataclass(frozen=True, slots=True)
class SourceForm:
    """One way to write a source, for help texts (``camhub send --help``, config keys)."""

    form: str
    """As the command's help shows it: ``rtsp://[USER:PASS@]HOST[:PORT]/PATH``."""
    short: str
    """In one-line lists: ``rtsp://HOST[:PORT]/PATH``."""
    help: str


SOURCE_FORMS: tuple[SourceForm, ...] = (
    SourceForm("rtsp://[USER:PASS@]HOST[:PORT]/PATH", "rtsp://HOST[:PORT]/PATH",
               "RTSP/RTSPS camera (its H.264/H.265 passed through)"),
    SourceForm("http://HOST:PORT/video", "http://HOST:PORT/video (MJPEG)",
               "MJPEG over HTTP (JPEGs passed through untouched)"),
    SourceForm("http://HOST:8080", "", "Android IP Webcam (its /video stream)"),
    SourceForm("http://HOST:PORT/shot.jpg", "http://HOST/shot.jpg (snapshots)",
               "JPEG snapshots, polled --rate times a second"),
    SourceForm("ipwebcam://HOST[:PORT][?mode=mjpeg]", "ipwebcam://HOST[:PORT]",
               "IP Webcam app: its H.264 over RTSP, else MJPEG"),
    SourceForm("droidcam://HOST[:PORT]", "droidcam://HOST", "DroidCam app (port 4747)"),
    SourceForm("0, 1, /dev/video0", "a webcam index (0, 1) or /dev/videoN", "local webcams"),
    SourceForm("clip.mp4", "a video file path",
               "a video file in real time, its H.264 passed through (--loop to repeat)"),
    SourceForm("testsrc[:WxH@FPS]", "testsrc[:WxH@FPS]", "built-in moving test pattern"),
    SourceForm("picamera[:N]", "picamera[:N]", "Raspberry Pi camera (needs picamera2)"),
)  # fmt: skip
"""Every source form, written once for every help text: add a kind's forms here."""

FORMS_HELP = ", ".join(f.short for f in SOURCE_FORMS if f.short)


def forms_table(indent: str = "  ") -> str:
    """The source forms as a two-column table (``camhub send --help``)."""
    width = max(len(f.form) for f in SOURCE_FORMS)
    return "\n".join(f"{indent}{f.form:<{width}}  {f.help}" for f in SOURCE_FORMS)


_TESTSRC = re.compile(r"^testsrc(?::(?:(\d{1,5})x(\d{1,5}))?(?:@(\d+(?:\.\d+)?))?)?$")
_PICAMERA = re.compile(r"^picamera2?(?::(\d{1,2}))?$")
_DEV_VIDEO = re.compile(r"^/dev/video(\d{1,3})$")
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+)$")


class SourceURIError(SourceError, ValueError):
    """A source string is malformed or names an unknown kind of source."""


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """What to open. ``url`` may hold credentials: show ``display`` to people instead."""

    kind: SourceKind
    url: str
    display: str
    username: str | None = None
    password: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    index: int | None = None
    params: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"SourceSpec(kind={self.kind!r}, display={self.display!r})"

    def secrets(self) -> dict[str, str]:
        """Strings that must not be shown (the full URL, the password) -> what to show."""
        out = {self.url: self.display} if self.url != self.display else {}
        if self.password and len(self.password) >= 4:  # shorter ones would mangle text
            out[self.password] = "***"
        return out

    __str__ = __repr__


def redact(uri: str) -> str:
    """``uri`` with any password replaced by ``***`` (safe to log, even if malformed)."""
    return re.sub(r"(//[^/@:?#]*):[^/?#]*@", r"\1:***@", uri)


def _netloc(parts: SplitResult, *, redacted: bool, port: int | None = None) -> str:
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = parts.port if port is None else port
    out = host if port is None else f"{host}:{port}"
    if parts.username is not None:
        user = parts.username
        if parts.password is not None:
            user += ":***" if redacted else f":{parts.password}"
        out = f"{user}@{out}"
    return out


def parse_source(source: str | int) -> SourceSpec:
    """Parse a source string; raise :class:`SourceURIError` saying what is wrong."""
    if isinstance(source, bool) or not isinstance(source, str | int):
        raise SourceURIError(f"a source must be a string or a webcam index, got {source!r}")
    if isinstance(source, int):
        return _webcam_index(source, str(source))
    text = source.strip()
    if not text:
        raise SourceURIError(f"empty source string; expected one of: {FORMS_HELP}")
    if text.isdigit():
        return _webcam_index(int(text), text)
    if (m := _DEV_VIDEO.match(text)) is not None:
        return SourceSpec("webcam", text, text, index=int(m.group(1)))
    if text.startswith("testsrc"):
        return _testsrc(text)
    if text.startswith("picamera"):
        m = _PICAMERA.match(text)
        if m is None:
            raise SourceURIError(f"bad Pi camera source {text!r}: expected picamera or picamera:N")
        return SourceSpec("picamera", text, text, index=int(m.group(1) or 0))
    scheme_match = re.match(r"^([A-Za-z][A-Za-z0-9+.\-]*):", text)
    if scheme_match is None or len(scheme_match.group(1)) == 1:  # "C:\..." is a path
        return _file(text, text)
    scheme = scheme_match.group(1).lower()
    if scheme not in SCHEMES:
        close = difflib.get_close_matches(scheme, SCHEMES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise SourceURIError(
            f"unknown scheme {scheme!r} in source {redact(text)!r}{hint}; supported: "
            f"{', '.join(SCHEMES)}, or 0, /dev/video0, a video file, testsrc, picamera"
        )
    if scheme == "file":
        path = unquote(urlsplit(text).path)
        if not path:
            raise SourceURIError(f"malformed file URL {text!r}: no path")
        return _file(path, text)
    parts = _split_url(text, scheme)
    if scheme in ("rtsp", "rtsps"):
        return _network("rtsp", parts)
    if scheme == "ipwebcam":
        return _ipwebcam(parts)
    if scheme == "droidcam":
        port = parts.port or DROIDCAM_PORT
        return _network("mjpeg", parts._replace(scheme="http", path="/video", query=""), port)
    return _http(parts)


def _webcam_index(index: int, text: str) -> SourceSpec:
    if not 0 <= index <= 63:
        raise SourceURIError(f"webcam index must be 0..63, got {index}")
    return SourceSpec("webcam", text, text, index=index)


def _testsrc(text: str) -> SourceSpec:
    m = _TESTSRC.match(text)
    if m is None:
        raise SourceURIError(
            f"bad test pattern {text!r}: expected testsrc, testsrc:WIDTHxHEIGHT, "
            "testsrc:WIDTHxHEIGHT@FPS or testsrc:@FPS (e.g. testsrc:640x480@30)"
        )
    width = int(m.group(1)) if m.group(1) else 640
    height = int(m.group(2)) if m.group(2) else 480
    fps = float(m.group(3)) if m.group(3) else 15.0
    if not (16 <= width <= 7680 and 16 <= height <= 4320):
        raise SourceURIError(f"bad test pattern {text!r}: size must be 16x16 to 7680x4320")
    if width % 2 or height % 2:
        raise SourceURIError(f"bad test pattern {text!r}: width and height must be even")
    if not 0 < fps <= 240:
        raise SourceURIError(f"bad test pattern {text!r}: fps must be in (0, 240]")
    return SourceSpec("testsrc", text, text, width=width, height=height, fps=fps)


def _file(path: str, text: str) -> SourceSpec:
    if "\x00" in path:
        raise SourceURIError("file path contains a NUL byte")
    looks_like_path = "/" in path or "\\" in path or PurePath(path).suffix.lower() in VIDEO_SUFFIXES
    if not looks_like_path:
        raise SourceURIError(f"unknown source {text!r}; expected one of: {FORMS_HELP}")
    return SourceSpec("file", path, text)


def _split_url(text: str, scheme: str) -> SplitResult:
    if not text.lower().startswith(f"{scheme}://"):
        raise SourceURIError(f"malformed URL {redact(text)!r}: expected {scheme}://HOST...")
    if any(c.isspace() for c in text):
        raise SourceURIError(f"malformed URL {redact(text)!r}: contains whitespace")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise SourceURIError(f"malformed URL {redact(text)!r}: {exc}") from None
    host = parts.hostname
    if not host:
        raise SourceURIError(f"malformed URL {redact(text)!r}: no host name")
    if _HOST.match(host if ":" not in host else f"[{host}]") is None:
        raise SourceURIError(f"malformed URL {redact(text)!r}: bad host name {host!r}")
    if port == 0:
        raise SourceURIError(f"malformed URL {redact(text)!r}: port 0 is not a usable port")
    return parts


def _network(kind: SourceKind, parts: SplitResult, port: int | None = None) -> SourceSpec:
    url = urlunsplit(parts._replace(netloc=_netloc(parts, redacted=False, port=port)))
    display = urlunsplit(parts._replace(netloc=_netloc(parts, redacted=True, port=port)))
    params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    return SourceSpec(
        kind,
        url,
        display,
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
        params=params,
    )


IPWEBCAM_RTSP_PATHS = ("/h264_ulaw.sdp", "/h264_pcm.sdp")
"""Where IP Webcam serves H.264 over RTSP (on its HTTP port), with u-law or PCM audio."""


def _ipwebcam(parts: SplitResult) -> SourceSpec:
    mode = {k: v[-1] for k, v in parse_qs(parts.query).items()}.get("mode", "auto").lower()
    port = parts.port or IPWEBCAM_PORT
    if mode == "auto":
        # The app's H.264 stream where it has one (the source falls back to MJPEG).
        rtsp = parts._replace(scheme="rtsp", path=IPWEBCAM_RTSP_PATHS[0], query="")
        spec = _network("ipwebcam", rtsp, port)
        shown = parts._replace(path="", query="", netloc=_netloc(parts, redacted=True, port=port))
        return replace(spec, display=urlunsplit(shown), params={})
    if mode == "mjpeg":
        return _network("mjpeg", parts._replace(scheme="http", path="/video", query=""), port)
    if mode == "snapshot":
        return _network("snapshot", parts._replace(scheme="http", path="/shot.jpg", query=""), port)
    if mode in ("rtsp", "h264"):
        # IP Webcam serves H.264 over RTSP on its HTTP port.
        rtsp = parts._replace(scheme="rtsp", path="/h264_ulaw.sdp", query="")
        return _network("rtsp", rtsp, port)
    raise SourceURIError(
        f"bad ipwebcam mode {mode!r} in {redact(parts.geturl())!r}: "
        "expected ?mode=auto (default: H.264 over RTSP, else MJPEG), ?mode=rtsp, "
        "?mode=mjpeg or ?mode=snapshot"
    )


def ipwebcam_fallbacks(spec: SourceSpec) -> tuple[list[SourceSpec], SourceSpec]:
    """For an ``ipwebcam://`` camera in auto mode: the app's RTSP streams to try in
    turn, and its MJPEG stream for a phone that has none."""
    parts = urlsplit(spec.url)
    rtsp = [_network("rtsp", parts._replace(path=path)) for path in IPWEBCAM_RTSP_PATHS]
    mjpeg = _network("mjpeg", parts._replace(scheme="http", path="/video"))
    return rtsp, mjpeg


def _http(parts: SplitResult) -> SourceSpec:
    path = parts.path
    if path in ("", "/") and parts.port == IPWEBCAM_PORT:
        # The root page of Android "IP Webcam": its MJPEG stream lives at /video.
        return _network("mjpeg", parts._replace(path="/video"))
    if path.lower().endswith(SNAPSHOT_SUFFIXES):
        return _network("snapshot", parts)
    return _network("mjpeg", parts)
