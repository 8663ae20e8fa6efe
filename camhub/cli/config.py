"""``camhub config check FILE``: validate a fleet config file without starting anything."""

from __future__ import annotations

import argparse

from camhub.config import load_config
from camhub.sources import parse_source


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "config",
        help="check a fleet config file",
        description="Work with camhub config files (TOML or YAML).",
    )
    sub = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = sub.add_parser(
        "check",
        help="validate a config file and say what it contains",
        description="Validate FILE: every key known, every value in range, every camera "
        "source well formed. Errors name the key and line. Nothing is opened or sent.",
    )
    check.add_argument("file", metavar="FILE", help="a .toml, .yaml or .yml file")
    check.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    config = load_config(args.file)
    hub = config.hub
    print(f"{args.file}: OK")
    print(f"  hub: send to {hub.address}, listen on {', '.join(hub.binds)}, "
          f"dashboard {hub.web_address or 'off'}, offline after {hub.offline_after:g} s")  # fmt: skip
    rec = hub.record
    print(f"  recording: {rec.mode} by default (pre-roll {rec.pre_roll:g} s, post-roll "
          f"{rec.post_roll:g} s), keep {rec.keep_days:g} days"
          + (f", at most {rec.max_gb:g} GB" if rec.max_gb else ""))  # fmt: skip
    if not config.cameras:
        print("  cameras: none")
    for i, cam in enumerate(config.cameras):
        spec = parse_source(cam.source)
        limits = [f"{cam.fps:g} fps" if cam.fps else "", f"width {cam.width}" if cam.width else ""]
        recording = f"records {cam.record}" if cam.record else ""
        who = "the hub pulls it" if cam.pull else "camhub send pushes it"
        sends = "raw" if cam.encoding == "raw" else f"codec {cam.codec}"
        extra = ", ".join(x for x in [sends, *limits, recording, who] if x)
        print(f"  cameras[{i}]: {cam.name or '(host name)'}: {spec.kind} {spec.display} ({extra})")
    for sink in config.sinks():
        print(f"  notify: {sink.type} {_target(sink)}")
    detect = config.detection()
    if detect is not None:
        backend = detect.backend()
        where = "on a Ray cluster" if detect.on == "ray" else f"{detect.workers} worker(s)"
        print(f"  detect: {', '.join(detect.labels) or 'every label'} with {backend.type} "
              f"({where}, {detect.detect_fps:g} looks/s)")  # fmt: skip
    return 0


def _target(sink: object) -> str:
    """Where a sink sends, without credentials, path or query."""
    from camhub.notify.settings import shown_url

    address = getattr(sink, "address", None)
    url = getattr(sink, "url", None)
    if isinstance(address, str):
        return address
    return shown_url(url) if isinstance(url, str) else ""
