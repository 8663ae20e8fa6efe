"""The phone gate's totals: every refusal by reason code, bad frames and messages, kept
even when per-client counters are forgotten (the hub adds them to its own)."""

from __future__ import annotations

import pytest

from camhub.phones import gate as gate_module
from camhub.phones.gate import REFUSED_LIMIT, REFUSED_TOKEN, PhoneGate, PhoneLimits


def test_refusals_count_per_client_and_in_the_totals_by_code() -> None:
    gate = PhoneGate(PhoneLimits(attempts_burst=2, attempts_per_s=0.001))
    assert gate.admit("10.0.0.9") is None and gate.admit("10.0.0.9") is None
    assert "too many connection attempts" in (gate.admit("10.0.0.9") or "")
    gate.refuse("10.0.0.9", REFUSED_TOKEN, "unknown device token")
    gate.count("10.0.0.8", "refused", "some other reason")  # the old entry still counts
    totals = gate.totals()
    assert totals.refused == 3
    assert totals.refused_by_reason == {"phone": 1, REFUSED_LIMIT: 1, REFUSED_TOKEN: 1}
    assert gate.stats_for("10.0.0.9").refused == 2
    assert gate.stats_for("10.0.0.9").last_reason == "unknown device token"


def test_bad_frames_and_messages_are_totalled() -> None:
    gate = PhoneGate()
    gate.add_frame("pixel", 1000)
    gate.add_frame("pixel", 1000)
    gate.count("pixel", "malformed", "not a JPEG")
    gate.count("pixel", "oversized", "too big")
    gate.count("pixel", "rate_limited", "too fast")
    gate.count("pixel", "connections")
    totals = gate.totals()
    assert (totals.messages, totals.frames, totals.malformed, totals.refused) == (5, 2, 2, 0)


def test_totals_outlive_forgotten_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gate_module, "MAX_CLIENTS_TRACKED", 4)
    gate = PhoneGate()
    for i in range(10):
        gate.refuse(f"10.0.0.{i}", REFUSED_TOKEN, "unknown device token")
        gate.count(f"cam{i}", "malformed", "not a JPEG")
    assert len(gate.clients()) == 4
    totals = gate.totals()
    assert totals.refused == 10 and totals.malformed == 10
