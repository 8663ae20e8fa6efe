"""The kinds of camera source camhub can open, each declared once, in its own module.

A kind module ends with one :func:`register_source` call that says which source strings
it reads (URL schemes, bare words like ``testsrc``, or a test such as "all digits"), how
it parses them into a :class:`~camhub.sources.uri.SourceSpec`, how it opens one, and the
help lines people see. Everything else is derived from the registered kinds: the
dispatch in :func:`parse_source` (which config validation uses), :func:`open_spec`,
default camera names, ``camhub send --help``, ``camhub hub --help``, the config
reference, and the list of schemes an "unknown scheme" error offers.

The built-in kinds are imported on first use, by module name (:data:`_BUILTIN`), so that
importing this module stays cheap and the kind modules can import it. A kind from
elsewhere (a plugin, a test) registers itself the same way.
"""

from __future__ import annotations

import difflib
import importlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from camhub.sources.base import SourceTimeouts, ThreadedSource
from camhub.sources.uri import SourceSpec, SourceURIError, redact
from camhub.types import ArgumentError


@dataclass(frozen=True, slots=True)
class SourceForm:
    """One way to write a source, for help texts (``camhub send --help``, config keys)."""

    form: str
    """As the command's help shows it: ``rtsp://[USER:PASS@]HOST[:PORT]/PATH``."""
    short: str
    """In one-line lists: ``rtsp://HOST[:PORT]/PATH`` (empty: not listed there)."""
    help: str


@dataclass(frozen=True, slots=True)
class OpenOptions:
    """What :func:`camhub.sources.open_source` was asked besides the source string; each
    kind uses what applies to it and ignores the rest."""

    timeouts: SourceTimeouts = field(default_factory=SourceTimeouts)
    rate: float = 5.0
    """Polls per second (snapshot cameras)."""
    loop: bool = False
    """Replay a finite source (video files)."""
    resolution: tuple[int, int] | None = None
    """Asked of webcams and Pi cameras."""
    fps: float | None = None
    """Asked of webcams and Pi cameras."""
    verify_tls: bool = True
    packets: bool = False
    """Hand on the camera's own coded video (``Frame.video``) where it has one."""


Parser = Callable[[str], SourceSpec]
Opener = Callable[[SourceSpec, str, OpenOptions], ThreadedSource]


@dataclass(frozen=True, slots=True)
class SourceKind:
    """One kind of camera source: which strings it reads and how it opens them.

    A string goes to the first kind (in registration order) that ``claims`` it, else to
    the kind owning one of its ``words``, else to the kind owning its URL scheme, else to
    the kind with a ``fallback`` (video file paths). A parser may return a spec of another
    kind (``ipwebcam://H?mode=mjpeg`` is an MJPEG camera); ``open`` is then that kind's.
    """

    name: str
    """``SourceSpec.kind`` of the specs this kind opens."""
    open: Opener
    parse: Parser | None = None
    """Reads the strings this kind owns (by scheme, word or claim); raises
    :class:`~camhub.sources.uri.SourceURIError` saying what is wrong."""
    schemes: tuple[str, ...] = ()
    """URL schemes ``parse`` reads (lower case, without ``:``)."""
    words: tuple[str, ...] = ()
    """Strings starting with one of these go to ``parse`` (``testsrc:640x480``)."""
    claims: Callable[[str], bool] | None = None
    """Other strings ``parse`` reads (webcams: ``0``, ``/dev/video0``); asked first."""
    fallback: Parser | None = None
    """Reads what no kind claims (a path): one kind has it."""
    forms: tuple[SourceForm, ...] = ()
    name_of: Callable[[SourceSpec], str] | None = None
    """The default camera name for a spec of this kind (default: the kind's name)."""


_KINDS: dict[str, SourceKind] = {}
_BUILTIN = (
    "camhub.sources.rtsp",
    "camhub.sources.mjpeg",
    "camhub.sources.snapshot",
    "camhub.sources.ipwebcam",
    "camhub.sources.webcam",
    "camhub.sources.file",
    "camhub.sources.testsrc",
    "camhub.sources.picamera",
    "camhub.scenes",
)
"""Modules of the built-in kinds, imported on first use (each registers itself)."""
_loaded = False
_loading = threading.RLock()
"""Held while the built-ins load: a second thread must not see half of them."""


def register_source(kind: SourceKind) -> SourceKind:
    """Make ``kind`` known (again, if one of that name was registered: it is replaced).

    Refuses a scheme or word another kind already owns: two kinds reading ``http://``
    would make the choice depend on import order."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", kind.name):
        raise ArgumentError(f"source kind name must be a short lower-case word, got {kind.name!r}")
    for scheme in kind.schemes:
        if not re.fullmatch(r"[a-z][a-z0-9+.\-]+", scheme):
            raise ArgumentError(f"source kind {kind.name!r}: bad URL scheme {scheme!r}")
    if (kind.schemes or kind.words or kind.claims) and kind.parse is None:
        raise ArgumentError(f"source kind {kind.name!r} owns strings but has no parse")
    for other in _KINDS.values():
        if other.name == kind.name:
            continue
        clash = set(other.schemes) & set(kind.schemes) or set(other.words) & set(kind.words)
        if clash:
            raise ArgumentError(
                f"source kind {kind.name!r}: {', '.join(sorted(clash))} already belongs to "
                f"{other.name!r}"
            )
        if kind.fallback is not None and other.fallback is not None:
            raise ArgumentError(
                f"source kind {kind.name!r}: {other.name!r} already reads unclaimed strings"
            )
    _KINDS[kind.name] = kind
    return kind


def _load_builtin() -> None:
    global _loaded
    if _loaded:
        return
    with _loading:  # re-entrant: a kind module's import may ask for the kinds
        if not _loaded:
            for module in _BUILTIN:
                importlib.import_module(module)
            _loaded = True


def source_kinds() -> list[SourceKind]:
    """Every registered kind, built-ins first, in registration order."""
    _load_builtin()
    return list(_KINDS.values())


def source_kind(name: str) -> SourceKind:
    _load_builtin()
    try:
        return _KINDS[name]
    except KeyError:
        known = ", ".join(_KINDS)
        raise SourceURIError(f"unknown kind of source {name!r} (known: {known})") from None


def schemes() -> list[str]:
    """Every URL scheme a source string may start with, as the help lists them."""
    return [s for kind in source_kinds() for s in kind.schemes]


def source_forms() -> list[SourceForm]:
    return [form for kind in source_kinds() for form in kind.forms]


def forms_help() -> str:
    """The source forms on one line (``camhub hub --help``, the config reference)."""
    return ", ".join(f.short for f in source_forms() if f.short)


def forms_table(indent: str = "  ") -> str:
    """The source forms as a two-column table (``camhub send --help``)."""
    forms = source_forms()
    width = max(len(f.form) for f in forms)
    return "\n".join(f"{indent}{f.form:<{width}}  {f.help}" for f in forms)


_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")


def parse_source(source: str | int) -> SourceSpec:
    """Parse a source string; raise :class:`SourceURIError` saying what is wrong.

    Pure (no network, no file system), so that config validation can use it."""
    if isinstance(source, bool) or not isinstance(source, str | int):
        raise SourceURIError(f"a source must be a string or a webcam index, got {source!r}")
    kinds = source_kinds()
    text = str(source).strip()  # an int is a webcam index, as OpenCV's VideoCapture(0)
    if not text:
        raise SourceURIError(f"empty source string; expected one of: {forms_help()}")
    for kind in kinds:
        if kind.parse is not None and kind.claims is not None and kind.claims(text):
            return kind.parse(text)
    for kind in kinds:
        if kind.parse is not None and text.startswith(kind.words):
            return kind.parse(text)
    scheme_match = _SCHEME.match(text)
    if scheme_match is None or len(scheme_match.group(1)) == 1:  # "C:\..." is a path
        return _fallback(kinds, text)
    scheme = scheme_match.group(1).lower()
    for kind in kinds:
        if kind.parse is not None and scheme in kind.schemes:
            return kind.parse(text)
    known = schemes()
    close = difflib.get_close_matches(scheme, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    others = [
        f.short for k in kinds if k.claims or k.words or k.fallback for f in k.forms if f.short
    ]
    raise SourceURIError(
        f"unknown scheme {scheme!r} in source {redact(text)!r}{hint}; supported: "
        f"{', '.join(known)}" + (f", or {', '.join(others)}" if others else "")
    )


def _fallback(kinds: list[SourceKind], text: str) -> SourceSpec:
    for kind in kinds:
        if kind.fallback is not None:
            return kind.fallback(text)
    raise unknown_source(text)


def unknown_source(text: str) -> SourceURIError:
    """The error for a string no kind reads (a fallback that does not want it either)."""
    return SourceURIError(f"unknown source {redact(text)!r}; expected one of: {forms_help()}")


def default_name(spec: SourceSpec) -> str:
    """A camera name derived from the source: host name, file stem, ``webcam0``..."""
    kind = source_kind(spec.kind)
    return kind.name_of(spec) if kind.name_of is not None else spec.kind


def open_spec(spec: SourceSpec, name: str, options: OpenOptions) -> ThreadedSource:
    """Open a parsed source with its kind's opener (the reader starts on first use)."""
    return source_kind(spec.kind).open(spec, name, options)
