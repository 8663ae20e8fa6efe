"""Secure mode: the hub's ``[hub.security]`` section, and the command-line flags shared by
``camhub hub`` and ``camhub send``."""

from __future__ import annotations

import argparse
import logging
import threading
from typing import Literal

from pydantic import Field, model_validator

from camhub.section import Section
from camhub.transport import SocketSecurity
from camhub.types import ArgumentError, CamhubError

log = logging.getLogger("camhub.security")

Role = Literal["hub", "sender"]
_ROLE_DEST = "security_role"

PLAINTEXT_WARNING = (
    "hub runs WITHOUT encryption: anyone who can reach its port can watch and inject "
    "frames; use --secret-key and --authorized-keys (see docs/security.md)"
)


class SecurityConfig(Section):
    """The hub's CURVE keys (``[hub.security]``; ``--secret-key``, ``--authorized-keys``).
    Checked here for completeness only: the key files are read by :meth:`build`."""

    secret_key: str | None = Field(
        default=None,
        min_length=1,
        description="This hub's secret key file (e.g. keys/hub.key_secret); senders get hub.key.",
    )
    authorized_keys: list[str] = Field(
        default_factory=list,
        max_length=64,
        description="Folders of sender public keys (*.key) allowed to connect, or key files; "
        "re-read when their files change and on SIGHUP.",
    )
    key_reload: float = Field(
        default=2.0,
        ge=0,
        le=3600,
        description="Seconds between looks for added or removed key files (0: only on SIGHUP).",
    )

    @model_validator(mode="after")
    def _both(self) -> SecurityConfig:
        if self.authorized_keys and self.secret_key is None:
            raise ValueError("authorized_keys needs secret_key (the hub's own key file)")
        if self.secret_key is not None and not self.authorized_keys:
            raise ValueError(
                "secret_key needs authorized_keys: the folder of sender public keys allowed "
                "to connect (create one per sender with 'camhub keys new NAME')"
            )
        return self

    @property
    def enabled(self) -> bool:
        return self.secret_key is not None

    def build(self) -> SocketSecurity | None:
        """Read the key files (a missing or bad one raises, naming it); ``None`` for
        plaintext. Logs nothing for plaintext: the caller warns once everything else is
        known to be good."""
        if self.secret_key is None:
            return None
        from camhub.security.curve import CurveServer

        server = CurveServer(
            self.secret_key, list(self.authorized_keys), reload_interval=self.key_reload or None
        )
        log.info(
            "secure mode: CURVE encryption, %d authorized sender key(s); hub public key %s",
            len(server.authorized),
            server.public_key.decode(),
        )
        return server


def reload_keys_on_sighup(security: SocketSecurity | None) -> None:
    """From the main thread: reload a hub's authorized keys on SIGHUP."""
    from camhub.security.curve import CurveServer, reload_on_sighup

    if isinstance(security, CurveServer) and threading.current_thread() is threading.main_thread():
        try:
            reload_on_sighup(security)
        except CamhubError:
            pass  # no SIGHUP on this platform: the timer still reloads


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
            help="how often to look for added or removed key files (0: only on SIGHUP; default: 2)",
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


def security_config(args: argparse.Namespace) -> dict[str, object]:
    """The hub's flags as ``[hub.security]`` keys (only those given)."""
    out: dict[str, object] = {}
    if args.secret_key is not None:
        out["secret_key"] = args.secret_key
    if args.authorized_keys:
        out["authorized_keys"] = list(args.authorized_keys)
    if args.key_reload is not None:
        out["key_reload"] = args.key_reload
    return out


def _hub_security(args: argparse.Namespace) -> SocketSecurity | None:
    from pydantic import ValidationError

    try:
        config = SecurityConfig.model_validate(security_config(args))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        text = str(first["msg"]).removeprefix("Value error, ")
        for key in ("authorized_keys", "secret_key", "key_reload"):
            text = text.replace(key, "--" + key.replace("_", "-"))
        raise CamhubError(text) from None
    security = config.build()
    if security is None:
        log.warning("%s", PLAINTEXT_WARNING)
    reload_keys_on_sighup(security)
    return security


SENDER_PLAINTEXT_WARNING = (
    "sending WITHOUT encryption: anyone on the network path can watch these frames; "
    "use --hub-key and --key (see docs/security.md)"
)


def _sender_security(args: argparse.Namespace) -> SocketSecurity | None:
    security = sender_security(args)
    if security is None:
        log.warning("%s", SENDER_PLAINTEXT_WARNING)
    return security


def sender_security(args: argparse.Namespace) -> SocketSecurity | None:
    """A sender's keys from its flags (``None``: plaintext, without a warning: the
    caller warns once everything else is known to be good)."""
    hub_key, key = args.hub_key, args.key
    if hub_key is None and key is None:
        return None
    if hub_key is None:
        raise CamhubError("--key needs --hub-key FILE (the hub's public key, e.g. hub.key)")
    if key is None:
        raise CamhubError(
            "--hub-key needs --key FILE (this sender's secret key, e.g. phone1.key_secret; "
            "create it with 'camhub keys new phone1')"
        )
    from camhub.security.curve import CurveClient

    client = CurveClient(hub_key, key)
    log.info("secure mode: CURVE encryption as key %r", client.name)
    return client
