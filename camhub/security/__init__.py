"""Secure mode: ZeroMQ CURVE encryption with an allow-list of sender keys.

* :mod:`~camhub.security.keys`: key files (ZeroMQ certificate format);
* :mod:`~camhub.security.curve`: :class:`CurveServer` (hub) and :class:`CurveClient`
  (sender), both :class:`~camhub.transport.SocketSecurity`;
* :mod:`~camhub.security.zap`: the per-process authenticator thread;
* :mod:`~camhub.security.authorized`: the reloadable allow-list;
* :mod:`~camhub.security.refusals`: refusal counters and rate-limited logs;
* :mod:`~camhub.security.monitor`: why a sender's handshake failed;
* :mod:`~camhub.security.options`: the command-line flags.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from camhub.security.curve import CurveClient, CurveServer, reload_on_sighup
from camhub.security.keys import KeyFile, KeyFileError, read_key_file, write_key_pair
from camhub.security.monitor import HubRefused
from camhub.security.refusals import SecurityStats

if TYPE_CHECKING:
    from camhub.security.options import add_security_args, security_from_args
else:
    # The command-line flags need argparse; a sender that imports camhub does not.

    def __getattr__(name: str) -> Any:
        if name in ("add_security_args", "security_from_args"):
            return getattr(importlib.import_module("camhub.security.options"), name)
        raise AttributeError(f"module 'camhub.security' has no attribute {name!r}")


__all__ = [
    "CurveClient",
    "CurveServer",
    "HubRefused",
    "KeyFile",
    "KeyFileError",
    "SecurityStats",
    "add_security_args",
    "read_key_file",
    "reload_on_sighup",
    "security_from_args",
    "write_key_pair",
]
