"""``camhub keys``: create and inspect CURVE key pairs for secure mode."""

from __future__ import annotations

import argparse
from pathlib import Path

from camhub.security.keys import (
    PUBLIC_SUFFIX,
    SECRET_SUFFIX,
    loose_permissions,
    read_key_file,
    write_key_pair,
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "keys",
        help="create and show CURVE keys for secure mode",
        description="Create and inspect the key pairs that secure mode uses: one for the "
        "hub and one for each sender. See docs/security.md.",
    )
    sub = parser.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    new = sub.add_parser(
        "new",
        help="create a key pair NAME.key (public) + NAME.key_secret (secret)",
        description="Create a CURVE key pair: NAME.key (public, share it) and "
        "NAME.key_secret (secret, mode 0600, never leaves this machine).",
    )
    new.add_argument("name", metavar="NAME", help="key name, e.g. hub or phone1")
    new.add_argument(
        "--dir", default="keys", metavar="DIR", help="folder for the files (default: %(default)s)"
    )
    new.add_argument("--force", action="store_true", help="replace existing files of that name")
    new.set_defaults(func=_new)
    show = sub.add_parser(
        "show",
        help="print the public key in a key file and check the file",
        description="Print the public key held in a key file (never the secret) and warn "
        "about loose permissions.",
    )
    show.add_argument("file", metavar="FILE", help="a .key or .key_secret file")
    show.set_defaults(func=_show)


def _new(args: argparse.Namespace) -> int:
    public, secret = write_key_pair(args.dir, args.name, force=args.force)
    name = args.name
    print(f"Created key pair {name!r}:")
    print(f"  {public}  public key - safe to share")
    print(f"  {secret}  SECRET key - keep it on this machine only (mode 0600)")
    print()
    print("If this key is for the hub:")
    print(f"  camhub hub --secret-key {secret} --authorized-keys AUTHORIZED_DIR")
    print(f"  and give {public} to every sender (their --hub-key).")
    print("If this key is for a sender (a camera):")
    print(f"  copy {public} into the hub's AUTHORIZED_DIR (no restart needed), then")
    print(f"  camhub send SOURCE --hub tcp://HUB:5555 --hub-key hub{PUBLIC_SUFFIX} --key {secret}")
    return 0


def _show(args: argparse.Namespace) -> int:
    key = read_key_file(args.file)
    kind = "secret key pair" if key.secret is not None else "public key"
    print(f"{Path(args.file)}: {kind} {key.name!r}")
    print(f"  public key: {key.public.decode()}")
    if key.secret is not None:
        warning = loose_permissions(args.file)
        if warning:
            print(f"  WARNING: {warning}")
        if not str(args.file).endswith(SECRET_SUFFIX):
            print(f"  WARNING: holds a secret key but is not named *{SECRET_SUFFIX}")
    return 0
