"""Object detection on a Ray cluster: adding cameras means adding machines.

The hub keeps ingest, tracking, events and recording; detector *actors* (Ray Core actors,
each holding one loaded :class:`~camhub.detect.Detector`) run wherever the cluster has the
CPUs or GPUs asked for. See ``docs/distributed.md``.

Shape::

    CameraStore --newest frame per camera--> RayDetection (hub thread)
        --JPEG bytes over a pipe--> bridge process (the Ray driver)
        --actor call--> DetectorActor on some node --boxes--> back the same way
        --> on_result(frame, boxes): the tracking and event path

Ray's driver lives in a child process because a driver whose cluster disappears is
terminated by Ray itself; the hub must outlive its cluster. Nothing here imports ``ray``
until a bridge starts, so ``import camhub`` stays light and Ray stays optional
(``pip install camhub[ray]``).
"""

from camhub.distributed.options import ClusterError, RayOptions
from camhub.distributed.scheduler import ActorHealth, CameraDetectStats, RayDetection

__all__ = [
    "ActorHealth",
    "CameraDetectStats",
    "ClusterError",
    "RayDetection",
    "RayOptions",
]
