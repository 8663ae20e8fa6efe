"""One exception tree: every error camhub raises derives from ``camhub.CamhubError``, and
the CLI shows one line, never a traceback, for any of them."""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import camhub
from camhub.cli import main

PACKAGE = Path(camhub.__file__).parent

# Control flow, not errors: abstract methods, iterator ends, Ctrl-C re-raised on SIGTERM,
# and the AttributeError a module __getattr__ (PEP 562) must raise for unknown names.
NOT_ERRORS = {
    "NotImplementedError",
    "StopIteration",
    "KeyboardInterrupt",
    "SystemExit",
    "AttributeError",
}
BUILTIN_ERRORS = {
    name
    for name, obj in vars(builtins).items()
    if isinstance(obj, type) and issubclass(obj, BaseException) and name not in NOT_ERRORS
}

# Raised on purpose and caught again inside camhub, never seen by a caller: a source's
# reader thread turns its I/O errors into SourceStatus.last_error, pydantic turns a
# validator's ValueError into a ConfigError, and the phone endpoints turn a bad request
# body into a 400 answer.
INTERNAL = {
    ("camhub/config.py", "ValueError"),
    ("camhub/notify/settings.py", "ValueError"),
    ("camhub/detect/config.py", "ValueError"),
    ("camhub/web/phone.py", "TypeError"),
    ("camhub/scenes.py", "ConnectionError"),
    ("camhub/sources/webcam.py", "OSError"),
    ("camhub/sources/mjpeg.py", "OSError"),
    ("camhub/sources/mjpeg.py", "ConnectionError"),
    ("camhub/sources/rtsp.py", "OSError"),
    ("camhub/sources/rtsp.py", "TimeoutError"),
    ("camhub/sources/snapshot.py", "OSError"),
    ("camhub/sources/picamera.py", "TimeoutError"),
    ("camhub/distributed/pool.py", "EOFError"),  # the bridge process died: caught, restarted
    ("camhub/distributed/options.py", "ValueError"),
    ("camhub/security/options.py", "ValueError"),
    ("camhub/positions.py", "ValueError"),  # a TOML the reader cannot place: caught, no position
    ("camhub/sources/rtspclient.py", "TimeoutError"),
    ("camhub/sources/rtspclient.py", "ConnectionResetError"),
    ("camhub/web/responses.py", "ValueError"),  # a body past its limit: answered 400/413
    ("camhub/web/events_api.py", "TypeError"),
    ("camhub/web/webrtc.py", "ValueError"),  # a bad WebRTC offer: answered 400
    ("camhub/detect/pool.py", "IndexError"),  # a shared-memory slot gone: caught, frame skipped
}


def _raised_builtins() -> set[tuple[str, str]]:
    found = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and node.exc is not None:
                exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                if isinstance(exc, ast.Name) and exc.id in BUILTIN_ERRORS:
                    found.add((str(path.relative_to(PACKAGE.parent)), exc.id))
    return found


def test_camhub_raises_no_bare_builtin_errors() -> None:
    assert _raised_builtins() - INTERNAL == set()


def test_internal_allow_list_is_not_stale() -> None:
    assert _raised_builtins() >= INTERNAL


def _camhub_exception_classes() -> list[type[BaseException]]:
    classes = []
    for info in pkgutil.walk_packages(camhub.__path__, "camhub."):
        if info.name.endswith("__main__"):  # runs the CLI when imported
            continue
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and obj.__module__.startswith("camhub")
            ):
                classes.append(obj)
    return classes


# Errors that live and die inside camhub (see INTERNAL above): a source's reader thread,
# and config validation.
INTERNAL_CLASSES = {"HTTPStatusError", "MultipartError", "_DuplicateName"}


def test_every_camhub_exception_class_derives_from_camhuberror() -> None:
    classes = _camhub_exception_classes()
    assert len(classes) >= 15
    outside = {c.__name__ for c in classes if not issubclass(c, camhub.CamhubError)}
    assert outside == INTERNAL_CLASSES


def test_new_errors_are_still_what_older_code_catches() -> None:
    assert issubclass(camhub.JpegError, ValueError)
    assert issubclass(camhub.ReceiveTimeout, TimeoutError)
    assert issubclass(camhub.SlotClosed, EOFError)
    assert issubclass(camhub.ArgumentError, ValueError)
    assert issubclass(camhub.ArgumentTypeError, TypeError)
    with pytest.raises(camhub.ArgumentError, match="window"):
        camhub.Sender("tcp://127.0.0.1:5555", window=0)
    with camhub.ImageHub("tcp://127.0.0.1:0") as hub, pytest.raises(camhub.ReceiveTimeout):
        hub.recv_image(timeout=0.05)


def test_cli_shows_a_camhub_error_as_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", "/nonexistent/fleet.toml"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("camhub config: error: ") and "Traceback" not in err
    assert err.count("\n") == 1
