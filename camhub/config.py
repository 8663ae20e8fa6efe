"""The fleet configuration: one typed model of everything a hub or a sender runs with, read
from a TOML or YAML file, with command-line options laid over it (:class:`Overlay`) and
the whole validated once.

Every section derives from :class:`camhub.section.Section`: unknown keys are errors, and
each field declares its description and bounds once. Notification sinks (``[[notify]]``)
and detector backends (``[detect.detector]``) are tagged unions on ``type``, with one
member per registered plugin. Error messages name the key path and the line
(``cameras.toml:12: cameras[1].fps: ...``), or the option for a value that came from the
command line (``--offline-after must be positive and at most 3600, got 0.0``); secrets
(passwords, tokens, webhook URLs) are never echoed back.

Validation is pure: it parses source strings but never opens a camera, a file or a
socket. Loading a config imports neither OpenCV nor the detection scheduler.

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

import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import annotated_types
import yaml
from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo

from camhub.detect.config import DetectConfig
from camhub.detect.labels import UnknownLabel
from camhub.distributed.options import RayOptions, RaySection
from camhub.notify.settings import MqttSettings, SinkSection, SinkSections, WebhookSettings
from camhub.overlay import Key, KeyPath
from camhub.overlay import Overlay as Overlay  # the command line's layer over a file
from camhub.positions import Positions, toml_positions, yaml_positions
from camhub.record.settings import (
    KeepDays,
    MaxGB,
    MinFreeGB,
    PostRoll,
    PreRoll,
    PrerollMB,
    RecordMode,
    SegmentSeconds,
)
from camhub.section import ConfigError as ConfigError  # what every problem here raises
from camhub.section import (
    PluginUnion,
    Section,
    is_secret,
    refresh,
    secret,
    uses_plugins,
)
from camhub.security.options import SecurityConfig
from camhub.sources.registry import forms_help, parse_source
from camhub.sources.uri import SourceURIError
from camhub.transport import AddressError, check_endpoint

if TYPE_CHECKING:
    from camhub.agent import CameraJob
    from camhub.record.settings import RecordSettings

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
DEFAULT_WEB = "127.0.0.1:8000"
DisplayMode = Literal["none", "window", "montage"]


class RecordConfig(Section):
    """The hub's recording defaults and retention (``[hub.record]``)."""

    mode: RecordMode = Field(
        default="off",
        description="Default for every camera: off, events (clips around events) or continuous.",
    )
    pre_roll: PreRoll = 5.0
    post_roll: PostRoll = 5.0
    segment_seconds: SegmentSeconds = 10.0
    keep_days: KeepDays = 7.0
    max_gb: MaxGB = 0.0
    min_free_gb: MinFreeGB = 1.0
    preroll_mb: PrerollMB = 128.0
    event_labels: list[Annotated[str, Field(min_length=1)]] | None = Field(
        default=None,
        min_length=1,
        max_length=256,
        description="In events mode, only events of these labels are recorded "
        "(default: every label but offline).",
    )


def _web_address(value: str) -> str:
    """``HOST:PORT`` (``[v6]:PORT``; a bare ``PORT`` means 127.0.0.1), as the web server
    reads it."""
    text = value.strip()
    if text.isdigit():
        host, port = "127.0.0.1", text
    elif text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":")
    else:
        host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(
            f"bad dashboard address {value!r}: expected HOST:PORT, e.g. 127.0.0.1:8000 "
            "or 0.0.0.0:8000 (with --web-expose)"
        )
    return text


class HubConfig(Section):
    """Where senders send, and how the hub listens, serves, keeps and protects."""

    address: str = Field(
        default="tcp://127.0.0.1:5555",
        description="Hub address that `camhub send` connects to (tcp://HOST:PORT).",
    )
    bind: str | Annotated[list[str], Field(min_length=1, max_length=16)] = Field(
        default="tcp://*:5555",
        description="Address(es) the hub listens on for senders (tcp://*:PORT).",
    )
    web: str = Field(
        default=DEFAULT_WEB,
        description="HOST:PORT of the hub's web dashboard (with phones: 0.0.0.0:8443).",
    )
    dashboard: bool = Field(default=True, description="Serve the web dashboard.")
    web_expose: bool = Field(
        default=False,
        description="Allow a non-loopback web address; a token is then required.",
    )
    web_token: str | None = secret(
        default=None, min_length=1, description="The dashboard token (or $CAMHUB_WEB_TOKEN)."
    )
    web_token_file: str | None = Field(
        default=None, min_length=1, description="File whose first line is the dashboard token."
    )
    tls_cert: str | None = Field(
        default=None, min_length=1, description="Serve HTTPS with this certificate (PEM)."
    )
    tls_key: str | None = Field(default=None, min_length=1, description="Key of tls_cert (PEM).")
    display: DisplayMode = Field(
        default="none",
        description="Also show frames on this machine's desktop: window (one per camera) or "
        "montage (needs a GUI build of OpenCV).",
    )
    offline_after: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="Seconds without frames before a camera shows offline.",
    )
    offline_reminder: float = Field(
        default=600.0,
        gt=0,
        le=86_400,
        description="Seconds between 'still offline' status lines for one camera.",
    )
    status_every: float = Field(
        default=10.0, ge=0, le=86_400, description="Seconds between status lines (0: never)."
    )
    processors: list[str] = Field(
        default_factory=list,
        max_length=32,
        description="Processors to run: TYPE for every camera, TYPE:CAM1,CAM2 for some.",
    )
    data: str | None = Field(
        default=None,
        min_length=1,
        description="Directory for events and recordings (default ~/.local/share/camhub).",
    )
    keep_data: bool = Field(
        default=True,
        description="Keep an event history and recordings (false: events only reach sinks).",
    )
    record: RecordConfig = Field(default=RecordConfig(), description="Recording.")
    phones: bool = Field(
        default=False,
        description="Let phones stream from their browser (HTTPS on the LAN, join link, QR).",
    )
    phones_dir: str | None = Field(
        default=None,
        min_length=1,
        description="Where the certificate, pairing code and devices are kept "
        "(default: $XDG_DATA_HOME/camhub/phones).",
    )
    phones_host: str | None = Field(
        default=None,
        min_length=1,
        max_length=253,
        description="Host name or address in the join link (default: this machine's LAN address).",
    )
    security: SecurityConfig = Field(
        default=SecurityConfig(), description="CURVE encryption and sender keys."
    )

    @model_validator(mode="before")
    @classmethod
    def _phones_web(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("phones") is True and "web" not in data:
            from camhub.phones.setup import DEFAULT_PHONES_WEB

            return {**data, "web": DEFAULT_PHONES_WEB}
        return data

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        try:
            return check_endpoint(value, what="hub address")
        except AddressError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("bind")
    @classmethod
    def _bind(cls, value: str | list[str]) -> str | list[str]:
        try:
            if isinstance(value, str):
                return check_endpoint(value, what="hub bind address", bind=True)
            return [check_endpoint(v, what="hub bind address", bind=True) for v in value]
        except AddressError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("web")
    @classmethod
    def _web(cls, value: str) -> str:
        return _web_address(value)

    @field_validator("processors")
    @classmethod
    def _processors(cls, value: list[str]) -> list[str]:
        if value:  # the registry loads the built-in processors (and OpenCV) only if named
            from camhub.processing import UnknownProcessor, processor_class

            for text in value:
                try:
                    processor_class(text.partition(":")[0].strip())
                except UnknownProcessor as exc:  # names the known ones
                    raise ValueError(str(exc)) from None
        return value

    @field_validator("keep_data")
    @classmethod
    def _keep_data(cls, value: bool, info: ValidationInfo) -> bool:
        if not value and info.data.get("data") is not None:
            raise ValueError("keep_data = false keeps nothing: drop data, or keep_data")
        return value

    @field_validator("phones")
    @classmethod
    def _phones(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("dashboard") is False:
            raise ValueError("phones need the dashboard (drop --no-web / dashboard = false)")
        return value

    @property
    def binds(self) -> list[str]:
        return [self.bind] if isinstance(self.bind, str) else list(self.bind)

    @property
    def web_address(self) -> str | None:
        """The dashboard's ``HOST:PORT``, or ``None`` when there is none."""
        return self.web if self.dashboard else None

    def data_dir(self) -> Path | None:
        """Where events and recordings go (``None``: the hub keeps nothing)."""
        if not self.keep_data:
            return None
        if self.data is not None:
            return Path(self.data).expanduser()
        from camhub.datadir import default_data_dir

        return default_data_dir()


class CameraConfig(Section):
    """One camera: streamed by `camhub send`, or read by the hub itself (``pull``)."""

    source: str = Field(
        description=f"Source string: {forms_help()}.",
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
    record: RecordMode | None = Field(
        default=None, description="How the hub records this camera (default: [hub.record] mode)."
    )
    pre_roll: PreRoll | None = Field(
        default=None, description="Seconds recorded before an event (hub side)."
    )
    post_roll: PostRoll | None = Field(
        default=None, description="Seconds recorded after an event (hub side)."
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

    def job(self, name: str, timeout: float = 5.0) -> CameraJob:
        """The streaming job for this camera (``camhub send`` and pulled cameras)."""
        from camhub.agent import CameraJob

        return CameraJob(
            name=name,
            source=self.source,
            fps=self.fps,
            width=self.width,
            quality=self.quality,
            encoding=self.encoding,
            reencode=self.reencode,
            codec=self.codec,
            loop=self.loop,
            snapshot_rate=self.snapshot_rate,
            timeout=timeout,
        )


@uses_plugins
class HubDetectConfig(DetectConfig):
    """``[detect]`` as the hub runs it: where the detector runs, too."""

    on: Literal["local", "ray"] = Field(
        default="local",
        description="Where the detector runs: local worker processes, or actors on a Ray "
        "cluster ([detect.ray]; pip install 'camhub[ray]').",
    )
    ray: RaySection = Field(
        default_factory=RaySection, description="The Ray cluster and its actors (on = ray)."
    )

    @property
    def ray_options(self) -> RayOptions | None:
        """The cluster to run on, or ``None`` for local worker processes."""
        return RayOptions(**self.ray.model_dump()) if self.on == "ray" else None


@uses_plugins
class FleetConfig(Section):
    """A whole config file: the hub, the cameras, where events go, what is detected."""

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
    notify: Annotated[list[SinkSections], Field(max_length=32)] = Field(
        default_factory=list,
        description="More notification sinks, each with its type (any registered sink).",
    )
    detect: HubDetectConfig | None = Field(
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

    def sinks(self) -> list[SinkSection]:
        """Every sink's settings: ``[mqtt]``, ``[[webhooks]]``, then ``[[notify]]``."""
        out: list[SinkSection] = [] if self.mqtt is None else [self.mqtt]
        out += self.webhooks
        out += [s for s in self.notify if isinstance(s, SinkSection)]
        return out

    def detection(self) -> HubDetectConfig | None:
        """The ``[detect]`` section if detection is on."""
        return self.detect if self.detect is not None and self.detect.enabled else None

    def record_settings(self) -> RecordSettings:
        return record_settings(self)

    def pulled(self) -> list[CameraJob]:
        """The cameras the hub reads itself, named (``pull_names`` for unnamed ones)."""
        from camhub.puller import pull_names

        pulled = [c for c in self.cameras if c.pull]
        auto = iter(pull_names([c.source for c in pulled if c.name is None]))
        return [c.job(c.name or next(auto)) for c in pulled]

    def expected(self) -> list[str]:
        """Named cameras a sender should push: listed before they connect."""
        return [c.name for c in self.cameras if c.name and not c.pull]


def record_settings(config: FleetConfig, mode: str | None = None) -> RecordSettings:
    """The recorder's settings from a fleet file; ``mode`` replaces the default mode, and
    per-camera ``record``/``pre_roll``/``post_roll`` win over both."""
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
        event_labels=None if rc.event_labels is None else frozenset(rc.event_labels),
    )


class _DuplicateName(ValueError):
    def __init__(self, index: int, name: str, first: int) -> None:
        super().__init__(f"camera name {name!r} is already used by cameras[{first}]")
        self.index = index


# -- reading -------------------------------------------------------------------------------


@dataclass
class _Document:
    """A config document as validated: its data, and where each value came from."""

    data: dict[str, Any]
    filename: str | None = None
    positions: Positions = field(default_factory=Positions)
    origins: dict[KeyPath, str] = field(default_factory=dict)


def parse_config(
    text: str, filename: str = "<config>", overlay: Overlay | None = None
) -> FleetConfig:
    """Validate config text, with ``overlay``'s options on top; the format comes from the
    file name (.toml, .yaml, .yml)."""
    suffix = Path(filename).suffix.lower()
    if suffix == ".toml":
        data = _load_toml(text, filename)
        positions = toml_positions(text)
    elif suffix in (".yaml", ".yml"):
        data, positions = _load_yaml(text, filename)
    else:
        raise ConfigError(f"{filename}: unknown config format {suffix or '(none)'!r}; "
                          "use a .toml, .yaml or .yml file")  # fmt: skip
    if not isinstance(data, dict):
        raise ConfigError(f"{filename}: the top level must be a table/mapping with "
                          "'hub' and 'cameras' keys")  # fmt: skip
    return _validate(_Document(data, filename, positions), overlay)


def load_config(path: str | Path, overlay: Overlay | None = None) -> FleetConfig:
    """Read and validate a config file, with ``overlay``'s options on top."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {str(path)!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return parse_config(text, str(path), overlay)


def read_config(path: str | Path | None, overlay: Overlay | None = None) -> FleetConfig:
    """The config file at ``path`` (or an empty one) with ``overlay`` on top."""
    if path is not None:
        return load_config(path, overlay)
    return _validate(_Document({}), overlay)


def _validate(doc: _Document, overlay: Overlay | None) -> FleetConfig:
    if overlay:
        doc.data, doc.origins = overlay.apply(doc.data)
    refresh()  # a sink or detector registered since the models were built joins now
    try:
        return FleetConfig.model_validate(doc.data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, doc)) from None


def _load_toml(text: str, filename: str) -> Any:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{filename}: not valid TOML: {exc}") from None


def _load_yaml(text: str, filename: str) -> tuple[Any, Positions]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{filename}:{mark.line + 1}" if mark is not None else filename
        raise ConfigError(f"{where}: not valid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{filename}: not valid YAML: {exc}") from None
    return ({} if data is None else data), yaml_positions(root)


# -- error messages that point at the key and line, or the option ----------------------------


@dataclass
class _Step:
    """What a validation error's location means in the model."""

    path: KeyPath
    """The location without the tags of tagged unions: ``notify[0].port``."""
    parent: type[BaseModel] | None
    """The section that holds the last key (its known keys, for an unknown one)."""
    field: FieldInfo | None
    """The last key's field (its bounds), if it is one."""
    secret: bool
    """A secret field is on the way: its value must not be shown."""


def _arms(annotation: Any) -> list[Any]:
    """The alternatives of an annotation, without ``None`` and ``Annotated``."""
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        out = []
        for arm in typing.get_args(annotation):
            out += [] if arm is type(None) else _arms(arm)
        return out
    return [annotation]


def _walk(loc: Sequence[Key]) -> _Step:
    path: list[Key] = []
    current: list[Any] = [FleetConfig]
    parent: type[BaseModel] | None = None
    last: FieldInfo | None = None
    hidden = False
    for part in loc:
        nxt: list[Any] = []
        tag = False
        for arm in (a for c in current for a in _arms(c)):
            origin = typing.get_origin(arm)
            if isinstance(arm, type) and issubclass(arm, PluginUnion) and isinstance(part, str):
                member = arm.member(part)
                if member is not None:
                    nxt.append(member)
                    tag = True
            elif origin in (list, tuple) and isinstance(part, int):
                args = typing.get_args(arm)
                nxt.append(args[0] if args else Any)
            elif origin is dict:
                args = typing.get_args(arm)
                nxt.append(args[1] if len(args) == 2 else Any)
            elif isinstance(arm, type) and issubclass(arm, BaseModel) and isinstance(part, str):
                parent = arm
                info = arm.model_fields.get(part)
                if info is not None:
                    last = info
                    hidden = hidden or is_secret(info)
                    nxt.append(info.annotation)
        if not tag:
            path.append(part)
        current = nxt
    return _Step(tuple(path), parent, last, hidden)


def _path_text(loc: Sequence[Key]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _num(value: Any) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else f"{number:g}"


def _bounds_phrase(field: FieldInfo | None) -> str | None:
    """``must be 1..100``, ``must be positive and at most 3600``... from a field's bounds."""
    if field is None:
        return None
    ge = gt = le = lt = None
    for meta in field.metadata:
        if isinstance(meta, annotated_types.Ge):
            ge = meta.ge
        elif isinstance(meta, annotated_types.Gt):
            gt = meta.gt
        elif isinstance(meta, annotated_types.Le):
            le = meta.le
        elif isinstance(meta, annotated_types.Lt):
            lt = meta.lt
    if ge is not None and le is not None:
        return f"must be {_num(ge)}..{_num(le)}"
    low = (
        "positive" if gt == 0 else f"above {_num(gt)}" if gt is not None
        else f"at least {_num(ge)}" if ge is not None else ""
    )  # fmt: skip
    high = (
        f"at most {_num(le)}" if le is not None else f"below {_num(lt)}" if lt is not None else ""
    )
    if ge == 0 and not high:
        return "must not be negative"
    parts = [x for x in (low, high) if x]
    return "must be " + " and ".join(parts) if parts else None


_BOUND_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}
_NO_ECHO = {"model_type", "value_error", "missing", "extra_forbidden", "dict_type"}


def _shown(value: Any) -> str | None:
    """A scalar input as it may be echoed, else ``None``."""
    if isinstance(value, bool | int | float) or (isinstance(value, str) and len(value) <= 200):
        return repr(value)
    return None


def _scrub(text: str, value: Any) -> str:
    values = value.values() if isinstance(value, dict) else [value]
    for v in values:
        if isinstance(v, str) and len(v) >= 4:
            text = text.replace(v, "***")
    return text


def _message(err: Mapping[str, Any], step: _Step) -> str:
    kind = err["type"]
    msg = str(err["msg"]).removeprefix("Value error, ")
    value = err.get("input")
    if kind == "extra_forbidden":
        known = list(step.parent.model_fields) if step.parent is not None else []
        return f"unknown key; known keys here: {', '.join(known)}"
    if kind == "missing":
        return "required key is missing"
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        tags = str(ctx.get("expected_tags", "")).replace("'", "")
        return f"unknown type {ctx.get('tag')!r} (known: {tags})"
    if kind == "union_tag_not_found":
        return "required key 'type' is missing (which kind it is)"
    if step.secret:
        return _scrub(msg, value)
    shown = _shown(value)
    if shown is not None and kind not in _NO_ECHO:
        msg += f" (got {shown})"
    return msg


def _cli_message(option: str, rest: KeyPath, err: Mapping[str, Any], step: _Step) -> str:
    value = err.get("input")
    phrase = _bounds_phrase(step.field) if err["type"] in _BOUND_ERRORS else None
    if phrase is not None and not rest and not step.secret:
        shown = _num(value) if isinstance(value, float) else repr(value)
        return f"{option} {phrase}, got {shown}"
    msg = _message(err, step)
    if all(isinstance(part, int) for part in rest):  # an item of the option's own list
        return f"{option}: {msg}"
    return f"{option}: {_path_text(rest)}: {msg}"


def _format_errors(exc: ValidationError, doc: _Document) -> str:
    messages = []
    from_file = True
    for err in exc.errors(include_url=False):
        loc: KeyPath = tuple(err["loc"])
        cause = err.get("ctx", {}).get("error")
        if isinstance(cause, _DuplicateName):
            loc = ("cameras", cause.index, "name")
        elif isinstance(cause, UnknownLabel):  # found by the [detect] section's own check
            loc = (*loc, *cause.where)
        step = _walk(loc)
        option, rest = _origin(doc.origins, step.path)
        if option is not None:
            from_file = False
            messages.append(_cli_message(option, rest, err, step))
            continue
        line = doc.positions.line(step.path)
        where = doc.filename or ""
        if line and where:
            where += f":{line}"
        text = f"{_path_text(step.path)}: {_message(err, step)}"
        messages.append(f"{where}: {text}" if where else text)
    count = len(messages)
    if count == 1:
        return messages[0]
    source = f" in {doc.filename}" if from_file and doc.filename else ""
    return f"{count} problems{source}:\n  " + "\n  ".join(messages)


def _origin(origins: Mapping[KeyPath, str], path: KeyPath) -> tuple[str | None, KeyPath]:
    for end in range(len(path), 0, -1):
        option = origins.get(path[:end])
        if option is not None:
            return option, path[end:]
    return None, path
