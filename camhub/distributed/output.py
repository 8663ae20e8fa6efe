"""What the bridge process prints, turned into the hub's own one-line log records.

Ray writes to its driver's terminal whatever it likes: errors pushed by the cluster ("Raylet
is terminated ... Last 20 lines of the Raylet logs:" and twenty indented lines after it),
in ANSI colours, whatever ``log_to_driver`` says (that only covers the actors' own output).
So the hub reads the bridge's stdout and stderr through a pipe instead of sharing its
terminal:

* the bridge's own log records (``BRIDGE_FORMAT``) go to the same ``camhub.*`` loggers,
  at their level;
* any other line is Ray's: colours stripped, one line to ``camhub.distributed.ray`` at
  WARNING (cut to ``MAX_LINE`` characters); the indented lines that continue it (dumps,
  tracebacks) at DEBUG only.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import IO

BRIDGE_FORMAT = "camhub-bridge %(levelname)s %(name)s: %(message)s"
"""How the bridge formats its own records, so that the hub can tell them from Ray's."""

MAX_LINE = 240

ray_log = logging.getLogger("camhub.distributed.ray")

_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_OURS = re.compile(r"^camhub-bridge (DEBUG|INFO|WARNING|ERROR|CRITICAL) (camhub[\w.]*): (.*)$")


def relay_line(raw: str) -> None:
    """Log one line the bridge printed."""
    line = _ANSI.sub("", raw).rstrip()
    if not line.strip():
        return
    ours = _OURS.match(line)
    if ours:
        level, name, message = ours.groups()
        logging.getLogger(name).log(_LEVELS[level], "%s", message)
    elif line[0].isspace():
        ray_log.debug("%s", line.strip())
    else:
        text = line if len(line) <= MAX_LINE else line[: MAX_LINE - 3] + "..."
        ray_log.warning("%s", text)


def relay(stream: IO[bytes], name: str) -> threading.Thread:
    """Read ``stream`` (the bridge's merged stdout and stderr) until it ends, in a thread."""

    def run() -> None:
        with stream:
            for raw in stream:
                try:
                    relay_line(raw.decode("utf-8", "replace"))
                except Exception:  # a logging failure must not stop the draining
                    pass

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread
