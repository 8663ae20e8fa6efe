"""CameraObjects on the shared lifecycle: a look that changes nothing worth telling
copies nothing and publishes nothing."""

from __future__ import annotations

import numpy as np
import pytest

from camhub.detect import Box
from camhub.detect.objects import CameraObjects
from camhub.detect.zones import Zone
from camhub.events.model import Event, EventUpdate
from camhub.types import Frame


def test_quiet_looks_copy_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    copies = 0
    real = Event.copy

    def counting(self: Event) -> Event:
        nonlocal copies
        copies += 1
        return real(self)

    monkeypatch.setattr(Event, "copy", counting)
    got: list[EventUpdate] = []
    porch = Zone("porch", ((0, 200), (640, 200), (640, 480), (0, 480)))
    cam = CameraObjects("door", got.append, zones=[porch], update_every=1.0)  # type: ignore[arg-type]
    image = np.full((480, 640, 3), 90, np.uint8)
    person = Box(200, 100, 80, 200, "person", 0.8, 0)  # feet on the porch
    for i in range(50):  # 5 s of a person standing still, 10 looks a second
        frame = Frame("door", array=image, received_at=1000.0 + i / 10)
        cam.update(frame, [person], at=frame.received_at)
    cam.close(1010.0)
    assert [u.type for u in got] == ["new", "end"]  # nothing changed in between
    assert copies == len(got)  # one copy per publication, none per look
    new, end = got[0].after, got[1].after
    assert new.zones == ["porch"] and new.data["entered"] == [{"zone": "porch", "at": 1000.1}]
    assert end.data["zone_time"] == {"porch": pytest.approx(4.8)}  # as of its end
    assert end.end == pytest.approx(1004.9) and end.snapshot is not None
