"""The one keyed lifecycle and the one event JSON."""

from __future__ import annotations

import json
import threading

import pytest

from camhub.events import Event, EventUpdate, Lifecycle


def test_new_update_end_with_before_as_last_published() -> None:
    got: list[EventUpdate] = []
    events: Lifecycle[str] = Lifecycle(got.append)
    live = events.start("door", Event(camera="door", label="person", start=10.0, score=0.5))
    live.score = 0.6  # changed in place, not published
    live.score = 0.7
    events.update("door")
    live.score = 0.9
    events.update("door")
    ended = events.end("door", 5.0)  # never before the start
    assert [u.type for u in got] == ["new", "update", "update", "end"]
    new, up1, up2, end = got
    assert new.before is None and new.after.score == 0.5
    assert up1.before is new.after and up1.after.score == 0.7  # 0.6 never went out
    assert up2.before is up1.after and up2.after.score == 0.9
    assert end.before is up2.after and end.after.end == 10.0 and ended == end.after
    assert len({id(u.after) for u in got}) == 4 and all(u.after is not live for u in got)
    assert "door" not in events and events.end("door", 20.0) is None and len(got) == 4
    assert events.started == 1


def test_keys_are_independent_and_end_all_ends_each() -> None:
    got: list[EventUpdate] = []
    events: Lifecycle[int] = Lifecycle(got.append)
    for track in (1, 2, 3):
        events.start(track, Event(camera="c", label="car", start=float(track)))
    events.end(2, 9.0)
    assert sorted(events.keys()) == [1, 3] and len(events) == 2
    ended = events.end_all(20.0)
    assert sorted(e.start for e in ended) == [1.0, 3.0] and len(events) == 0
    assert [u.type for u in got].count("end") == 3


def test_a_key_has_one_event_at_a_time() -> None:
    events: Lifecycle[str] = Lifecycle(lambda u: None)
    events.start("k", Event(camera="c", label="x", start=1.0))
    with pytest.raises(ValueError, match="already going on"):
        events.start("k", Event(camera="c", label="x", start=2.0))
    with pytest.raises(ValueError, match="ended already"):
        events.start("j", Event(camera="c", label="x", start=2.0, end=3.0))


def test_one_json_built_once_and_new_repeats_after_as_before() -> None:
    event = Event(camera="porch", label="motion", start=100.0, snapshot=b"\xff\xd8", zones=["a"])
    update = EventUpdate("new", event)
    calls = 0
    real = Event.as_dict

    def counting(self: Event) -> dict[str, object]:
        nonlocal calls
        calls += 1
        return real(self)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Event, "as_dict", counting)
        outputs: list[bytes] = []
        threads = [threading.Thread(target=lambda: outputs.append(update.json)) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert calls == 1  # eight readers (sinks, stream clients), one serialisation
    assert all(o is outputs[0] for o in outputs)
    body = json.loads(outputs[0])
    assert body["type"] == "new" and body["before"] == body["after"]
    after = body["after"]
    assert after["start_time"] == 100.0 and after["end_time"] is None
    assert after["current_zones"] == ["a"] and after["has_snapshot"] is True
    assert after["links"]["snapshot"] == f"/api/events/{event.id}/snapshot.jpg"
    assert "snapshot" not in after  # the bytes never go into JSON
