"""``camhub hub --detect-on ray`` and the ``--ray-*`` options that go with it."""

from __future__ import annotations

import argparse
import os

from camhub.distributed.options import LOCAL, ClusterError, RayOptions, parse_resources


def add_ray_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--detect-on",
        choices=("local", "ray"),
        default="local",
        help="where the detector runs: local worker processes (default) or actors on a "
        "Ray cluster (pip install 'camhub[ray]')",
    )
    group.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="Ray cluster: HOST:PORT of the head node or ray://HOST:10001; 'auto' starts a "
        f"local Ray (default: $RAY_ADDRESS, else {LOCAL})",
    )
    group.add_argument(
        "--ray-actors", metavar="N", type=int, default=1, help="detector actors (default 1)"
    )
    group.add_argument(
        "--ray-cpus", metavar="N", type=float, default=1.0, help="CPUs per actor (default 1)"
    )
    group.add_argument(
        "--ray-gpus", metavar="N", type=float, default=0.0, help="GPUs per actor (default 0)"
    )
    group.add_argument(
        "--ray-resources",
        metavar="JSON",
        help="custom resources per actor, e.g. '{\"detect\": 1}'",
    )
    group.add_argument(
        "--ray-fallback",
        choices=("local", "none"),
        default="local",
        help="when the cluster is gone: detect locally (default) or not at all",
    )


def ray_options(args: argparse.Namespace) -> RayOptions | None:
    """``None`` for local detection; bad values raise :class:`ClusterError`."""
    ray_given = any(
        getattr(args, name) not in (None, default)
        for name, default in (
            ("ray_address", None),
            ("ray_actors", 1),
            ("ray_cpus", 1.0),
            ("ray_gpus", 0.0),
            ("ray_resources", None),
            ("ray_fallback", "local"),
        )
    )
    if args.detect_on != "ray":
        if ray_given:
            raise ClusterError("--ray-* options need --detect-on ray")
        return None
    return RayOptions(
        address=args.ray_address or os.environ.get("RAY_ADDRESS", "") or LOCAL,
        actors=args.ray_actors,
        num_cpus=args.ray_cpus,
        num_gpus=args.ray_gpus,
        resources=parse_resources(args.ray_resources) if args.ray_resources else {},
        fallback=args.ray_fallback,
    )
