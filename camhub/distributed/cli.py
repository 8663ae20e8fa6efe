"""``camhub hub --detect-on ray`` and the ``--ray-*`` options that go with it."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from camhub.distributed.options import LOCAL, ClusterError, parse_resources

if TYPE_CHECKING:
    from camhub.overlay import Overlay


def add_ray_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--detect-on",
        choices=("local", "ray"),
        help="where the detector runs: local worker processes (default) or actors on a "
        "Ray cluster (pip install 'camhub[ray]')",
    )
    group.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="Ray cluster: HOST:PORT of the head node or ray://HOST:10001; 'auto' starts a "
        f"local Ray (default: $RAY_ADDRESS, else {LOCAL})",
    )
    group.add_argument("--ray-actors", metavar="N", type=int, help="detector actors (default 1)")
    group.add_argument("--ray-cpus", metavar="N", type=float, help="CPUs per actor (default 1)")
    group.add_argument("--ray-gpus", metavar="N", type=float, help="GPUs per actor (default 0)")
    group.add_argument(
        "--ray-resources",
        metavar="JSON",
        help="custom resources per actor, e.g. '{\"detect\": 1}'",
    )
    group.add_argument(
        "--ray-fallback",
        choices=("local", "none"),
        help="when the cluster is gone: detect locally (default) or not at all",
    )


_RAY_KEYS = {
    "ray_address": "address",
    "ray_actors": "actors",
    "ray_cpus": "num_cpus",
    "ray_gpus": "num_gpus",
    "ray_resources": "resources",
    "ray_fallback": "fallback",
}


def ray_overlay(args: argparse.Namespace, overlay: Overlay) -> None:
    """--detect-on and --ray-* over [detect] and [detect.ray]; bad values raise
    :class:`ClusterError` (or fail validation, naming the option)."""
    given = {key: getattr(args, key) for key in _RAY_KEYS if getattr(args, key) is not None}
    if args.detect_on != "ray":
        if given:
            raise ClusterError("--ray-* options need --detect-on ray")
        if args.detect_on == "local":
            overlay.set(("detect", "on"), "local", "--detect-on", if_present=True)
        return
    if args.detect is None:
        overlay.requires(
            ("detect",), "--detect-on ray needs --detect LABELS (or a [detect] section)"
        )
    overlay.set(("detect", "on"), "ray", "--detect-on")
    for key, value in given.items():
        if key == "ray_resources":
            value = parse_resources(value)
        overlay.set(("detect", "ray", _RAY_KEYS[key]), value, "--" + key.replace("_", "-"))
