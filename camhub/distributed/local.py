"""The fallback: the Ray calls the bridge makes, served by threads of the bridge process.

When the cluster is gone the hub keeps detecting through the very same bridge, scheduler
and bookkeeping; only the actor handles change. Each "actor" is one thread (calls run one
at a time, as on a Ray actor) holding one loaded model; OpenCV and ONNX Runtime release the
GIL while they infer, so several threads use several cores.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

from camhub.types import CamhubError


class ActorFailed(CamhubError):
    """The local actor could not be created (its model failed to load)."""


class _Call:
    def __init__(self, future: Future[Any]) -> None:
        self._future = future

    def future(self) -> Future[Any]:
        return self._future


class _Method:
    def __init__(self, handle: _Handle, name: str) -> None:
        self._handle, self._name = handle, name

    def remote(self, *args: Any) -> _Call:
        return _Call(self._handle.call(self._name, args))


class _Handle:
    def __init__(self, cls: type, args: tuple[Any, ...]) -> None:
        self._cls, self._args = cls, args
        self.restart()

    def restart(self) -> None:
        """A fresh thread and model, as Ray restarts a killed actor. A thread stuck in
        the old model cannot be stopped; it is abandoned (the bridge exits without
        joining it)."""
        old = getattr(self, "_pool", None)
        if old is not None:
            old.shutdown(wait=False, cancel_futures=True)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="camhub-local-actor")
        self._instance = self._pool.submit(self._cls, *self._args)

    def call(self, name: str, args: tuple[Any, ...]) -> Future[Any]:
        def run() -> Any:
            try:
                instance = self._instance.result()
            except Exception as e:
                raise ActorFailed(f"creating the detector failed: {type(e).__name__}: {e}") from e
            method: Callable[..., Any] = getattr(instance, name)
            return method(*args)

        return self._pool.submit(run)

    def __getattr__(self, name: str) -> _Method:
        if name.startswith("_"):
            raise AttributeError(name)
        return _Method(self, name)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class _ActorClass:
    def __init__(self, cls: type, handles: list[_Handle]) -> None:
        self._cls, self._handles = cls, handles

    def options(self, **_placement: Any) -> _ActorClass:
        return self  # one machine: nothing to place

    def remote(self, *args: Any) -> _Handle:
        handle = _Handle(self._cls, args)
        self._handles.append(handle)
        return handle


class LocalRay:
    """The subset of the ``ray`` module that :class:`~camhub.distributed.bridge.Bridge` uses."""

    exceptions = SimpleNamespace(RayActorError=ActorFailed)

    def __init__(self) -> None:
        self._handles: list[_Handle] = []

    def remote(self, cls: type) -> _ActorClass:
        return _ActorClass(cls, self._handles)

    def kill(self, handle: _Handle, no_restart: bool = False) -> None:
        if not no_restart:
            handle.restart()

    def cluster_resources(self) -> dict[str, float]:
        return {}

    def nodes(self) -> list[dict[str, Any]]:
        return []

    def shutdown(self) -> None:
        for handle in self._handles:
            handle.close()
