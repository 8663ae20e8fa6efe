"""The receive thread coalesces wake-ups for many slow senders (cameras), never for a
fast one, and loses no frame either way."""

from __future__ import annotations

import time

import numpy as np
import pytest

import camhub
from camhub.receiver import _COALESCE_MAX_PER_PEER, _COALESCE_RATE, _RateWatch

pytestmark = pytest.mark.timeout(60)


def judged(watch: _RateWatch, messages: int, peers: int, span: float, start: float) -> bool:
    for i in range(messages):
        watch.add(bytes([0, 0, 0, 0, i % peers]))
    return watch.coalesce(start + span)


def test_many_slow_senders_turn_coalescing_on() -> None:
    watch = _RateWatch(now=0.0)
    # 40 cameras at 15 fps: 600 messages/s, 15 per sender.
    assert judged(watch, 600, 40, 1.0, 0.0)


def test_one_fast_sender_never_turns_it_on() -> None:
    watch = _RateWatch(now=0.0)
    per_peer = int(_COALESCE_MAX_PER_PEER) * 3
    assert not judged(watch, per_peer, 1, 1.0, 0.0)


def test_a_quiet_hub_does_not_coalesce() -> None:
    watch = _RateWatch(now=0.0)
    assert not judged(watch, int(_COALESCE_RATE / 2), 10, 1.0, 0.0)


def test_the_decision_holds_until_the_next_period() -> None:
    watch = _RateWatch(now=0.0)
    assert judged(watch, 600, 40, 1.0, 0.0)
    # Too soon to judge again: the last decision stands, whatever came since.
    assert watch.coalesce(1.0 + _RateWatch.PERIOD / 2)
    # A period later with nothing counted: the hub went quiet.
    assert not watch.coalesce(1.0 + 2 * _RateWatch.PERIOD)


def test_many_paced_cameras_are_coalesced_and_every_frame_arrives(jpeg: bytes) -> None:
    cameras, fps, seconds = 40, 15.0, 3.0
    with camhub.Hub("tcp://127.0.0.1:0") as hub:
        senders = [camhub.Sender(hub.endpoint, window=4) for _ in range(cameras)]
        seen_on = False
        try:
            rng = np.random.default_rng(0)
            period = 1.0 / fps
            start = time.monotonic()
            due = [start + float(rng.uniform(0, period)) for _ in senders]
            sent = [0] * cameras
            while time.monotonic() - start < seconds:
                i = min(range(cameras), key=due.__getitem__)
                time.sleep(max(0.0, due[i] - time.monotonic()))
                senders[i].send_jpeg(f"cam{i}", jpeg)
                sent[i] += 1
                due[i] += period
                seen_on = seen_on or hub.receiver.coalescing
            for s in senders:
                assert s.flush()
        finally:
            for s in senders:
                s.close()
        stats = {s.name: s.frames for s in hub.stats()}
    assert seen_on, "40 cameras at 15 fps should have turned coalescing on"
    assert stats == {f"cam{i}": n for i, n in enumerate(sent)}


def test_a_lock_step_sender_is_not_coalesced(jpeg: bytes) -> None:
    with camhub.Hub("tcp://127.0.0.1:0") as hub, camhub.Sender(hub.endpoint, window=1) as s:
        for _ in range(400):
            assert s.send_jpeg("fast", jpeg)
            assert not hub.receiver.coalescing
        assert s.flush()
        stats = hub.camera_stats("fast")
        assert stats is not None and stats.frames == 400
