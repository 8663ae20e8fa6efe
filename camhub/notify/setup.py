"""Build the sinks a hub runs from their settings (:meth:`camhub.config.FleetConfig.sinks`):
each section's ``type`` names the registered sink class that reads it."""

from __future__ import annotations

from collections.abc import Sequence

from camhub.notify.base import Sink, sink_class
from camhub.notify.settings import SinkSection


def build_sinks(sections: Sequence[SinkSection]) -> list[Sink]:
    sinks: list[Sink] = []
    names: set[str] = set()
    for section in sections:
        sink = sink_class(section.type).from_settings(section)
        if sink.name in names:  # two sinks on one host: keep health rows apart
            sink.name = f"{sink.name}-{len(names) + 1}"
        names.add(sink.name)
        sinks.append(sink)
    return sinks
