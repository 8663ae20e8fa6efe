"""Object detection on a Ray cluster: adding cameras means adding machines.

The hub keeps ingest, tracking, events and recording; detector *actors* (Ray Core actors,
each holding one loaded :class:`~camhub.detect.Detector`) run wherever the cluster has the
CPUs or GPUs asked for. :class:`RayPool` stands in for the local worker pool of
:class:`~camhub.detect.scheduler.ObjectDetection`. See ``docs/distributed.md``.

Shape::

    ObjectDetection (hub thread: newest frame per camera, motion gate, tracking, events)
        --job--> RayPool --JPEG bytes over a pipe--> bridge process (the Ray driver)
        --actor call--> DetectorActor on some node --boxes--> back the same way

Ray's driver lives in a child process because Ray terminates a driver whose cluster has
been unreachable for a minute; the hub must outlive its cluster. Nothing here imports
``ray`` in the hub process, so Ray stays optional (``pip install camhub[ray]``).
"""

from camhub.distributed.options import ClusterError, RayOptions, parse_resources
from camhub.distributed.pool import RayPool

__all__ = ["ClusterError", "RayOptions", "RayPool", "parse_resources"]
