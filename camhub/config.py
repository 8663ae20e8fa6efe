"""The fleet configuration file (TOML or YAML): where the hub is, and which cameras to
stream. Typed and validated with pydantic; unknown keys are errors, every field has a
description and bounds, and error messages name the key path and, where it can be
found, the line (``cameras.toml:12: cameras[1].fps: ...``).

Validation is pure: it parses source strings but never opens a camera or a socket.

Example (TOML)::

    [hub]
    address = "tcp://192.168.1.10:5555"

    [[cameras]]
    name = "door"
    source = "ipwebcam://192.168.1.23"
    fps = 10

    [[cameras]]
    name = "desk"
    source = "0"
    width = 640

    [mqtt]                      # optional: publish events to a broker
    host = "192.168.1.5"

    [[webhooks]]                # optional, repeatable
    url = "https://example.com/camhub-hook"
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from camhub.detect.config import DetectConfig
from camhub.detect.labels import UnknownLabel
from camhub.notify.settings import MqttSettings, WebhookSettings
from camhub.sources.uri import SourceURIError, parse_source
from camhub.transport import AddressError, check_endpoint
from camhub.types import CamhubError

if TYPE_CHECKING:
    from camhub.record.settings import RecordSettings

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"


class ConfigError(CamhubError):
    """A config file is unreadable or invalid; the text lists every problem."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


RecordModeName = Literal["off", "events", "continuous"]


class RecordConfig(_Section):
    """The hub's recording defaults and retention (``[hub.record]``)."""

    mode: RecordModeName = Field(
        default="off",
        description="Default for every camera: off, events (clips around events) or continuous.",
    )
    pre_roll: float = Field(default=5.0, ge=0, le=300, description="Seconds kept before an event.")
    post_roll: float = Field(default=5.0, ge=0, le=300, description="Seconds kept after an event.")
    segment_seconds: float = Field(
        default=10.0, ge=1, le=600, description="Length of one recording file."
    )
    keep_days: float = Field(
        default=7.0, ge=0, le=36500, description="Delete recordings older than this (0: never)."
    )
    max_gb: float = Field(
        default=0.0, ge=0, description="Total size cap for all recordings, oldest first (0: none)."
    )
    min_free_gb: float = Field(
        default=1.0, ge=0, description="Stop recording while the disk has less free space."
    )
    preroll_mb: float = Field(
        default=128.0, ge=1, le=100_000, description="Memory for all pre-roll buffers together."
    )


class HubConfig(_Section):
    """Where senders send, and how the hub listens."""

    address: str = Field(
        default="tcp://127.0.0.1:5555",
        description="Hub address that `camhub send` connects to (tcp://HOST:PORT).",
    )
    bind: str = Field(
        default="tcp://*:5555",
        description="Address the hub listens on for senders (tcp://*:PORT).",
    )
    web: str = Field(
        default="127.0.0.1:8000",
        description="HOST:PORT of the hub's web dashboard.",
        pattern=r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+):\d{1,5}$",
    )
    offline_after: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="Seconds without frames before a camera shows offline.",
    )
    data: str | None = Field(
        default=None,
        min_length=1,
        description="Directory for events and recordings (default ~/.local/share/camhub).",
    )
    record: RecordConfig = Field(default=RecordConfig(), description="Recording.")

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        try:
            return check_endpoint(value, what="hub address")
        except AddressError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("bind")
    @classmethod
    def _bind(cls, value: str) -> str:
        try:
            return check_endpoint(value, what="hub bind address", bind=True)
        except AddressError as exc:
            raise ValueError(str(exc)) from None


class CameraConfig(_Section):
    """One camera: streamed by `camhub send`, or read by the hub itself (``pull``)."""

    source: str = Field(
        description="Source string: rtsp://..., http://.../video, ipwebcam://HOST, "
        "droidcam://HOST, 0, /dev/video0, a video file, testsrc[:WxH@FPS] or picamera.",
        min_length=1,
        max_length=2048,
    )
    name: str | None = Field(
        default=None,
        description="Camera name shown at the hub (default: host name, plus a suffix).",
        pattern=NAME_PATTERN,
    )
    fps: float | None = Field(default=None, gt=0, le=240, description="Send at most this many fps.")
    width: int | None = Field(
        default=None, ge=16, le=7680, description="Shrink frames wider than this (keeps aspect)."
    )
    quality: int = Field(default=85, ge=1, le=100, description="JPEG quality when (re-)encoding.")
    encoding: Literal["jpeg", "raw"] = Field(
        default="jpeg", description="jpeg (small; camera JPEGs pass through) or raw arrays."
    )
    reencode: bool = Field(
        default=False, description="Re-encode camera JPEGs at `quality` instead of passing them."
    )
    codec: Literal["auto", "h264", "jpeg"] = Field(
        default="auto",
        description="auto: the camera's own H.264/H.265 passes through, pictures become "
        "H.264, for a hub that takes video (else JPEG); h264: MJPEG cameras too; jpeg: "
        "JPEG only.",
    )
    loop: bool = Field(default=False, description="Replay video files forever.")
    snapshot_rate: float = Field(
        default=5.0, gt=0, le=120, description="Polls per second for snapshot (.jpg) sources."
    )
    pull: bool = Field(
        default=False,
        description="The hub reads this camera itself (`camhub hub --config`); "
        "`camhub send --config` leaves it out.",
    )
    record: RecordModeName | None = Field(
        default=None, description="How the hub records this camera (default: [hub.record] mode)."
    )
    pre_roll: float | None = Field(
        default=None, ge=0, le=300, description="Seconds recorded before an event (hub side)."
    )
    post_roll: float | None = Field(
        default=None, ge=0, le=300, description="Seconds recorded after an event (hub side)."
    )

    @model_validator(mode="after")
    def _named_for_recording(self) -> CameraConfig:
        if self.name is None and (self.record, self.pre_roll, self.post_roll) != (None,) * 3:
            raise ValueError("give the camera a name: the hub applies recording settings by name")
        return self

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        try:
            parse_source(value)
        except SourceURIError as exc:
            raise ValueError(str(exc)) from None
        return value


class FleetConfig(_Section):
    """A whole config file."""

    hub: HubConfig = Field(default=HubConfig(), description="The hub.")
    cameras: Annotated[list[CameraConfig], Field(max_length=256)] = Field(
        default_factory=list, description="Cameras to stream."
    )
    mqtt: MqttSettings | None = Field(
        default=None, description="MQTT broker the hub publishes events to (docs/notifications.md)."
    )
    webhooks: Annotated[list[WebhookSettings], Field(max_length=32)] = Field(
        default_factory=list, description="URLs the hub POSTs every event to."
    )
    detect: DetectConfig | None = Field(
        default=None, description="Object detection and tracking on the hub."
    )

    @model_validator(mode="after")
    def _unique_names(self) -> FleetConfig:
        seen: dict[str, int] = {}
        for i, cam in enumerate(self.cameras):
            if cam.name is None:
                continue
            if cam.name in seen:
                raise _DuplicateName(i, cam.name, seen[cam.name])
            seen[cam.name] = i
        return self


def record_settings(config: FleetConfig, mode: str | None = None) -> RecordSettings:
    """The recorder's settings from a fleet file; ``mode`` (e.g. ``--record``) replaces
    the default mode, and per-camera ``record``/``pre_roll``/``post_roll`` win over both."""
    from camhub.record.settings import CameraRecording, RecordSettings

    rc = config.hub.record
    default = CameraRecording(
        mode or rc.mode,  # type: ignore[arg-type]
        pre_roll=rc.pre_roll,
        post_roll=rc.post_roll,
    )
    cameras = {
        cam.name: CameraRecording(
            cam.record or default.mode,
            pre_roll=default.pre_roll if cam.pre_roll is None else cam.pre_roll,
            post_roll=default.post_roll if cam.post_roll is None else cam.post_roll,
        )
        for cam in config.cameras
        if cam.name is not None and (cam.record, cam.pre_roll, cam.post_roll) != (None,) * 3
    }
    return RecordSettings(
        default=default,
        cameras=cameras,
        segment_seconds=rc.segment_seconds,
        keep_days=rc.keep_days,
        max_gb=rc.max_gb,
        min_free_gb=rc.min_free_gb,
        preroll_mb=rc.preroll_mb,
    )


class _DuplicateName(ValueError):
    def __init__(self, index: int, name: str, first: int) -> None:
        super().__init__(f"camera name {name!r} is already used by cameras[{first}]")
        self.index = index


def parse_config(text: str, filename: str = "<config>") -> FleetConfig:
    """Validate config text; the format comes from the file name (.toml, .yaml, .yml)."""
    suffix = Path(filename).suffix.lower()
    if suffix == ".toml":
        data = _load_toml(text, filename)
        lines: _LineFinder = _TomlLines(text)
    elif suffix in (".yaml", ".yml"):
        data, lines = _load_yaml(text, filename)
    else:
        raise ConfigError(f"{filename}: unknown config format {suffix or '(none)'!r}; "
                          "use a .toml, .yaml or .yml file")  # fmt: skip
    if not isinstance(data, dict):
        raise ConfigError(f"{filename}: the top level must be a table/mapping with "
                          "'hub' and 'cameras' keys")  # fmt: skip
    try:
        return FleetConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, filename, lines)) from None


def load_config(path: str | Path) -> FleetConfig:
    """Read and validate a config file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {str(path)!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return parse_config(text, str(path))


# -- error messages that point at the key and line ---------------------------------------

Loc = Sequence[int | str]


def _path(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _error_line(filename: str, line: int | None, loc: Loc, message: str) -> str:
    where = f"{filename}:{line}" if line else filename
    return f"{where}: {_path(loc)}: {message}"


def _format_errors(exc: ValidationError, filename: str, lines: _LineFinder) -> str:
    messages = []
    for err in exc.errors(include_url=False):
        loc: Loc = tuple(err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        cause = err.get("ctx", {}).get("error")
        if isinstance(cause, _DuplicateName):
            loc = ("cameras", cause.index, "name")
        elif isinstance(cause, UnknownLabel):  # found by the [detect] section's own check
            loc = (*loc, *cause.where)
        elif err["type"] == "extra_forbidden":
            msg = f"unknown key; known keys here: {', '.join(_known_keys(loc[:-1]))}"
        elif err["type"] == "missing":
            msg = "required key is missing"
        elif "input" in err and err["type"] not in ("model_type", "value_error"):
            msg += f" (got {err['input']!r})"
        messages.append(_error_line(filename, lines.line(loc), loc, msg))
    count = len(messages)
    head = f"{count} problem{'s' if count > 1 else ''} in {filename}:\n  " if count > 1 else ""
    return head + "\n  ".join(messages)


def _known_keys(parent: Loc) -> list[str]:
    model: type[BaseModel] = FleetConfig
    if len(parent) > 1 and parent[:2] == ("hub", "record"):
        model = RecordConfig
    elif parent and parent[0] == "hub":
        model = HubConfig
    elif parent and parent[0] == "cameras":
        model = CameraConfig
    elif parent and parent[0] == "mqtt":
        model = MqttSettings
    elif parent and parent[0] == "webhooks":
        model = WebhookSettings
    elif parent and parent[0] == "detect":
        model = DetectConfig
    return list(model.model_fields)


class _LineFinder:
    def line(self, loc: Loc) -> int | None:
        return None


class _TomlLines(_LineFinder):
    """tomllib keeps no positions, so search the text: find the table that holds the key
    (``[hub]``, the N-th ``[[cameras]]``), then the first ``key =`` line after it."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def line(self, loc: Loc) -> int | None:
        if not loc:
            return None
        section, rest = str(loc[0]), list(loc[1:])
        start: int | None = None
        # The deepest dotted table that holds the key: [detect.cameras.door], [hub.record].
        names: list[str] = []
        for part in loc:
            if not isinstance(part, str):
                break
            names.append(part)
        for n in range(len(names), 2, -1):
            dotted = re.compile(
                r"^\s*\[\s*" + r"\.".join(re.escape(x) for x in names[:n]) + r"\s*\]"
            )
            found = next((i for i, text in enumerate(self.lines) if dotted.match(text)), None)
            if found is not None:
                return self._key_line(found, list(loc[n:]))
        if rest and isinstance(rest[0], str):  # a sub-table such as [hub.record]
            dotted = re.compile(rf"^\s*\[\s*{re.escape(section)}\.{re.escape(rest[0])}\s*\]")
            start = next((i for i, text in enumerate(self.lines) if dotted.match(text)), None)
        if start is not None:
            rest = rest[1:]
        elif rest and isinstance(rest[0], int):
            header = re.compile(rf"^\s*\[\[\s*{re.escape(section)}\s*\]\]")
            hits = [i for i, text in enumerate(self.lines) if header.match(text)]
            if rest[0] < len(hits):
                start = hits[rest[0]]
            rest = rest[1:]
        else:
            header = re.compile(rf"^\s*\[\s*{re.escape(section)}\s*\]")
            start = next((i for i, text in enumerate(self.lines) if header.match(text)), None)
            if start is None and not rest:  # a top-level key
                key = re.compile(rf"^\s*{re.escape(section)}\s*=")
                start = next((i for i, t in enumerate(self.lines) if key.match(t)), None)
        if start is None:
            return None
        return self._key_line(start, rest)

    def _key_line(self, start: int, rest: list[str | int]) -> int:
        if rest and isinstance(rest[0], str):
            key = re.compile(rf"^\s*\"?{re.escape(rest[0])}\"?\s*=")
            for i in range(start + 1, len(self.lines)):
                if self.lines[i].lstrip().startswith("["):
                    break
                if key.match(self.lines[i]):
                    return i + 1
        return start + 1


class _YamlLines(_LineFinder):
    """Walks the YAML node tree, which knows the line of every key and value."""

    def __init__(self, root: yaml.Node | None) -> None:
        self.root = root

    def line(self, loc: Loc) -> int | None:
        node = self.root
        best = None if node is None else node.start_mark.line + 1
        for part in loc:
            child: yaml.Node | None = None
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.value == part:
                        best = key.start_mark.line + 1
                        child = value
                        break
            elif (
                isinstance(node, yaml.SequenceNode)
                and isinstance(part, int)
                and part < len(node.value)
            ):
                child = node.value[part]
                best = child.start_mark.line + 1
            if child is None:
                break
            node = child
        return best


def _load_toml(text: str, filename: str) -> Any:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{filename}: not valid TOML: {exc}") from None


def _load_yaml(text: str, filename: str) -> tuple[Any, _LineFinder]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{filename}:{mark.line + 1}" if mark is not None else filename
        raise ConfigError(f"{where}: not valid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{filename}: not valid YAML: {exc}") from None
    return ({} if data is None else data), _YamlLines(root)
