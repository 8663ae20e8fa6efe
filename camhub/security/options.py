"""Command-line flags for secure mode, shared by ``camhub hub`` and ``camhub send``."""

from __future__ import annotations

import argparse
import logging
import threading
from typing import Literal

from camhub.security.curve import CurveClient, CurveServer, reload_on_sighup
from camhub.transport import SocketSecurity
from camhub.types import ArgumentError, CamhubError

log = logging.getLogger("camhub.security")

Role = Literal["hub", "sender"]
_ROLE_DEST = "security_role"


def add_security_args(parser: argparse.ArgumentParser, role: Role = "hub") -> None:
    """Add the secure-mode flags for a hub (``role="hub"``) or a sender."""
    if role not in ("hub", "sender"):
        raise ArgumentError(f"role must be 'hub' or 'sender', got {role!r}")
    group = parser.add_argument_group(
        "secure mode (recommended: CURVE encryption with an allow-list of sender keys; "
        "make keys with 'camhub keys new NAME', see docs/security.md)"
    )
    if role == "hub":
        group.add_argument(
            "--secret-key",
            metavar="FILE",
            help="this hub's secret key file (e.g. keys/hub.key_secret); senders get hub.key",
        )
        group.add_argument(
            "--authorized-keys",
            metavar="PATH",
            action="append",
            help="folder of sender public keys (*.key) allowed to connect, or one key file "
            "(repeatable); re-read when its files change and on SIGHUP",
        )
        group.add_argument(
            "--key-reload",
            metavar="SECONDS",
            type=float,
            default=2.0,
            help="how often to look for added or removed key files (0: only on SIGHUP; "
            "default: %(default)s)",
        )
    else:
        group.add_argument(
            "--hub-key",
            metavar="FILE",
            help="the hub's public key file (e.g. hub.key)",
        )
        group.add_argument(
            "--key",
            metavar="FILE",
            help="this sender's secret key file (e.g. phone1.key_secret)",
        )
    parser.set_defaults(**{_ROLE_DEST: role})


def security_from_args(args: argparse.Namespace) -> SocketSecurity | None:
    """The security the flags ask for, or None for plaintext (with a warning).

    Raises :class:`~camhub.types.CamhubError` with a clear message on incomplete flags
    or bad key files. For a hub it also reloads keys on SIGHUP when called from the
    main thread.
    """
    role = getattr(args, _ROLE_DEST, None)
    if role == "hub":
        return _hub_security(args)
    if role == "sender":
        return _sender_security(args)
    raise ArgumentError("security_from_args needs a parser set up with add_security_args")


def _hub_security(args: argparse.Namespace) -> SocketSecurity | None:
    secret, authorized = args.secret_key, args.authorized_keys
    if secret is None and not authorized:
        log.warning(
            "hub runs WITHOUT encryption: anyone who can reach its port can watch and inject "
            "frames; use --secret-key and --authorized-keys (see docs/security.md)"
        )
        return None
    if secret is None:
        raise CamhubError("--authorized-keys needs --secret-key FILE (the hub's own key)")
    if not authorized:
        raise CamhubError(
            "--secret-key needs --authorized-keys PATH: the folder of sender public keys "
            "allowed to connect (create one per sender with 'camhub keys new NAME')"
        )
    if args.key_reload < 0:
        raise CamhubError(f"--key-reload must be 0 or more seconds, got {args.key_reload}")
    server = CurveServer(secret, authorized, reload_interval=args.key_reload or None)
    log.info(
        "secure mode: CURVE encryption, %d authorized sender key(s); hub public key %s",
        len(server.authorized),
        server.public_key.decode(),
    )
    if threading.current_thread() is threading.main_thread():
        try:
            reload_on_sighup(server)
        except CamhubError:
            pass  # no SIGHUP on this platform: the timer still reloads
    return server


def _sender_security(args: argparse.Namespace) -> SocketSecurity | None:
    hub_key, key = args.hub_key, args.key
    if hub_key is None and key is None:
        log.warning(
            "sending WITHOUT encryption: anyone on the network path can watch these frames; "
            "use --hub-key and --key (see docs/security.md)"
        )
        return None
    if hub_key is None:
        raise CamhubError("--key needs --hub-key FILE (the hub's public key, e.g. hub.key)")
    if key is None:
        raise CamhubError(
            "--hub-key needs --key FILE (this sender's secret key, e.g. phone1.key_secret; "
            "create it with 'camhub keys new phone1')"
        )
    client = CurveClient(hub_key, key)
    log.info("secure mode: CURVE encryption as key %r", client.name)
    return client
