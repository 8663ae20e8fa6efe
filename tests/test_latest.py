from __future__ import annotations

import threading

import pytest

from camhub import LatestSlot


def test_newest_wins_and_drops_are_counted() -> None:
    slot: LatestSlot[int] = LatestSlot()
    for i in range(5):
        slot.put(i)
    assert slot.get(0.1) == 4 and slot.dropped == 4
    with pytest.raises(TimeoutError):
        slot.get(0.05)  # each item is returned once
    assert slot.peek() == 4


def test_get_wakes_on_put_and_on_close() -> None:
    slot: LatestSlot[str] = LatestSlot()
    threading.Timer(0.05, slot.put, args=("x",)).start()
    assert slot.get(2) == "x"
    threading.Timer(0.05, slot.close).start()
    with pytest.raises(EOFError):
        slot.get(2)
