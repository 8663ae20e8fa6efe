"""``camhub phones``: list, revoke and forget the phones that stream from their browser,
and show or renew the pairing code. Works on a running hub's folder: changes take effect
there within a second, without a restart."""

from __future__ import annotations

import argparse
import time
from typing import Any

from camhub.phones.devices import DeviceRegistry, default_dir


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "phones",
        help="list or revoke the phones that stream from their browser (hub --phones)",
        description="Manage the browser cameras of `camhub hub --phones`: each paired phone "
        "has its own device token; revoking it stops that phone at once.",
    )
    parser.add_argument(
        "--dir",
        metavar="DIR",
        help="the hub's --phones-dir (default: $XDG_DATA_HOME/camhub/phones)",
    )
    sub = parser.add_subparsers(dest="phones_command", metavar="ACTION", required=True)
    sub.add_parser(
        "list", help="paired phones and whether they are revoked", description="List phones."
    ).set_defaults(func=_list)
    revoke = sub.add_parser(
        "revoke",
        help="stop a phone from streaming (its token is refused from now on)",
        description="Revoke a phone's device token; a running hub refuses it within a second.",
    )
    revoke.add_argument("name", metavar="NAME")
    revoke.set_defaults(func=_revoke)
    forget = sub.add_parser(
        "forget",
        help="remove a phone entirely, so its name can pair again",
        description="Remove a phone from the devices file (revoked or not).",
    )
    forget.add_argument("name", metavar="NAME")
    forget.set_defaults(func=_forget)
    pairing = sub.add_parser(
        "pairing",
        help="show the pairing code, or make a new one (--new) so old QR codes stop working",
        description="Show the pairing code in the join link; --new replaces it (phones "
        "already paired keep working).",
    )
    pairing.add_argument("--new", action="store_true", help="replace the pairing code")
    pairing.set_defaults(func=_pairing)


def _registry(args: argparse.Namespace) -> DeviceRegistry:
    return DeviceRegistry(args.dir or default_dir())


def _when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(at))


def _list(args: argparse.Namespace) -> int:
    devices = _registry(args).devices()
    if not devices:
        print("no phones paired yet: open the join link `camhub hub --phones` prints")
    for d in devices:
        state = f"revoked {_when(d.revoked_at)}" if d.revoked_at is not None else "allowed"
        print(f"{d.name}\tpaired {_when(d.paired_at)}\t{state}")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    _registry(args).revoke(args.name)
    print(f"revoked {args.name}: the hub refuses it from now on")
    return 0


def _forget(args: argparse.Namespace) -> int:
    _registry(args).forget(args.name)
    print(f"forgot {args.name}")
    return 0


def _pairing(args: argparse.Namespace) -> int:
    registry = _registry(args)
    code = registry.rotate_pairing_code() if args.new else registry.pairing_code
    print(code)
    return 0
