"""What ``--detect-on ray`` and its companions mean (``[detect.ray]`` in the fleet file),
validated without touching the network."""

from __future__ import annotations

import json
import os
from typing import Any

from pydantic import Field, ValidationError, ValidationInfo, field_validator

from camhub.section import Section
from camhub.types import CamhubError


class ClusterError(CamhubError):
    """The Ray cluster could not be reached or used (bad address, Ray not installed...)."""


LOCAL = "auto"
"""``--detect-on ray`` with this address starts a private local Ray instance."""
NO_RAY = "-"
"""Internal address of the fallback: actors are threads of the bridge process."""


class RaySection(Section):
    """Where and how detector actors run on a Ray cluster (``[detect.ray]`` in the fleet
    file, ``--ray-*`` on the command line)."""

    address: str = Field(
        default="",
        validate_default=True,
        description="'auto' (start a local Ray), HOST:PORT of a head node (the GCS port, "
        "6379 by default) or ray://HOST:10001 (Ray Client); empty: $RAY_ADDRESS, else auto.",
    )
    actors: int = Field(
        default=1, description="Detector actors to start (RayDetection.grow adds more)."
    )
    num_cpus: float = Field(
        default=1.0, description="CPUs each actor reserves: Ray places it where they are free."
    )
    num_gpus: float = Field(
        default=0.0, description="GPUs each actor reserves (fractions share one GPU)."
    )
    resources: dict[str, float] = Field(
        default_factory=dict,
        description="Custom resources each actor needs, e.g. {detect = 1} to use only nodes "
        "started with --resources='{\"detect\": 4}'.",
    )
    depth: int = Field(
        default=2, description="Frames queued per actor (the next travels while one runs)."
    )
    call_timeout: float = Field(
        default=5.0,
        description="An actor call not answered in this many seconds counts as lost, and the "
        "actor leaves the rotation until it answers a ping.",
    )
    connect_timeout: float = Field(
        default=90.0, description="Seconds to wait for the cluster and the first actor."
    )
    fallback_after: float = Field(
        default=20.0,
        description="With no usable actor for this long the cluster counts as gone: the hub "
        "falls back (see fallback) and retries the cluster every retry_every s.",
    )
    retry_every: float = Field(default=30.0, description="Seconds between cluster retries.")
    max_restarts: int = Field(
        default=-1, ge=-1, description="Ray restarts a dead actor this often (-1: always)."
    )
    fallback: str = Field(
        default="local",
        description="When the cluster is gone: local (the same detector in this machine's "
        "worker threads) or none (no detection until it is back).",
    )
    fallback_workers: int = Field(default=1, description="Worker threads of the fallback.")
    local_cpus: int | None = Field(
        default=None, ge=1, description="CPUs of the local Ray that auto starts (default: all)."
    )

    @field_validator("address", mode="before")
    @classmethod
    def _address_from_env(cls, value: Any) -> Any:
        return (os.environ.get("RAY_ADDRESS", "") or LOCAL) if value == "" else value

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        if value not in (LOCAL, NO_RAY) and not _looks_like_address(value):
            raise ValueError(f"Ray address {value!r} is not 'auto', HOST:PORT or ray://HOST:PORT")
        return value

    @field_validator("actors")
    @classmethod
    def _actors(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"need at least one detector actor, got {value}")
        return value

    @field_validator("num_cpus", "num_gpus")
    @classmethod
    def _share(cls, value: float) -> float:
        if value < 0:
            raise ValueError("actor num_cpus and num_gpus must not be negative")
        return value

    @field_validator("depth")
    @classmethod
    def _depth(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"depth must be at least 1, got {value}")
        return value

    @field_validator("call_timeout", "connect_timeout", "fallback_after", "retry_every")
    @classmethod
    def _positive(cls, value: float, info: ValidationInfo) -> float:
        if value <= 0:
            raise ValueError(f"{info.field_name} must be positive, got {value}")
        return value

    @field_validator("fallback")
    @classmethod
    def _fallback(cls, value: str) -> str:
        if value not in ("local", "none"):
            raise ValueError(f"fallback must be 'local' or 'none', got {value!r}")
        return value

    @field_validator("fallback_workers")
    @classmethod
    def _fallback_workers(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"fallback_workers must be at least 1, got {value}")
        return value

    @field_validator("resources")
    @classmethod
    def _resources(cls, value: dict[str, float]) -> dict[str, float]:
        if any(v < 0 for v in value.values()):
            raise ValueError("resources must map names to non-negative numbers")
        return value


class RayOptions(RaySection):
    """:class:`RaySection` as the pool takes it; built directly, a bad value raises
    :class:`ClusterError` (the config file's ``[detect.ray]`` reports its line instead)."""

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            text = str(first["msg"]).removeprefix("Value error, ")
            raise ClusterError(f"{where}: {text}" if where else text) from None

    @property
    def is_local(self) -> bool:
        return self.address == LOCAL

    @property
    def uses_ray(self) -> bool:
        return self.address != NO_RAY

    @property
    def where(self) -> str:
        if self.address == NO_RAY:
            return "local worker threads"
        return "a local Ray instance" if self.is_local else f"the Ray cluster at {self.address}"

    def local_fallback(self) -> RayOptions:
        """These options for the fallback: same detector, local threads, no Ray."""
        return self.model_copy(
            update={"address": NO_RAY, "actors": self.fallback_workers, "connect_timeout": 60.0}
        )

    def actor_options(self) -> dict[str, Any]:
        """Keyword arguments for ``ActorClass.options``: placement and restarts."""
        opts: dict[str, Any] = {
            "num_cpus": self.num_cpus,
            "num_gpus": self.num_gpus,
            "max_restarts": self.max_restarts,
            # A frame lost with its node is not worth re-running: the camera has a newer one.
            "max_task_retries": 0,
            # Spread actors over nodes, so one node's loss takes as few as possible.
            "scheduling_strategy": "SPREAD",
        }
        if self.resources:
            opts["resources"] = dict(self.resources)
        return opts


def _looks_like_address(text: str) -> bool:
    rest = text.removeprefix("ray://")
    host, sep, port = rest.rpartition(":")
    return bool(sep and host and port.isdigit() and 0 < int(port) < 65536)


def parse_resources(text: str) -> dict[str, float]:
    """``'{"detect": 1}'`` (JSON, as ``ray start --resources`` takes it)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ClusterError(
            f"--ray-resources must be a JSON object, e.g. '{{\"gpu_node\": 1}}': {e}"
        ) from None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, int | float) and v >= 0 for k, v in value.items()
    ):
        raise ClusterError("--ray-resources must map names to non-negative numbers")
    return {k: float(v) for k, v in value.items()}
