"""What the bridge prints becomes the hub's own one-line records (text as Ray 2.60 prints it)."""

import io
import logging

import pytest

from camhub.distributed.output import relay, relay_line

RAYLET_DEATH = (
    "\x1b[33m(raylet)\x1b[0m Raylet is terminated. Termination is unexpected. Possible reasons "
    "include: (1) SIGKILL by the user or system OOM killer, (2) Invalid memory access from "
    "Raylet causing SIGSEGV or SIGBUS, (3) Other termination signals. Last 20 lines of the "
    "Raylet logs:\n"
    "    [state-dump] \tObjectManager.UpdateAvailableMemory - 1 total (0 active)\n"
    "    [2026-12-07 04:20:12,425 I 18271 18271] (raylet) accessor.cc:475: Received address\n"
    "\n"
)


def test_rays_coloured_dump_becomes_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for line in RAYLET_DEATH.splitlines(keepends=True):
        relay_line(line)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.name for r in warnings] == ["camhub.distributed.ray"]
    text = warnings[0].getMessage()
    assert text.startswith("(raylet) Raylet is terminated.") and "\x1b" not in text
    assert len(text) <= 240 and text.endswith("...")
    dumps = [r for r in caplog.records if r.levelno == logging.DEBUG]
    assert len(dumps) == 2 and dumps[0].getMessage().startswith("[state-dump]")


def test_the_bridges_own_records_keep_their_logger_and_level(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stream = io.BytesIO(
        b"camhub-bridge WARNING camhub.distributed.bridge: could not kill hung actor 1\n"
        b"camhub-bridge ERROR camhub.distributed.bridge: detection failed\n"
    )
    relay(stream, "test-relay").join(5)
    got = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert got == [
        ("camhub.distributed.bridge", "WARNING", "could not kill hung actor 1"),
        ("camhub.distributed.bridge", "ERROR", "detection failed"),
    ]
