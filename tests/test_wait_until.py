"""The suite's one polling helper fails loudly, naming what it waited for."""

from __future__ import annotations

import pytest

from tests.conftest import wait_until


def test_a_timeout_raises_and_names_what_was_awaited() -> None:
    with pytest.raises(AssertionError, match="waiting for the door to open"):
        wait_until(lambda: False, 0.05, "the door to open")


def test_without_a_description_the_predicate_source_is_named() -> None:
    door = {"open": False}
    with pytest.raises(AssertionError, match=r'door\["open"\]'):
        wait_until(lambda: door["open"], 0.05)


def test_a_callable_description_is_read_only_on_failure() -> None:
    calls: list[int] = []
    wait_until(lambda: True, 0.05, what=lambda: calls.append(1))
    assert calls == []
    with pytest.raises(AssertionError, match="state 7"):
        wait_until(lambda: False, 0.05, what=lambda: f"state {len(calls) + 7}")


def test_returns_as_soon_as_the_predicate_holds() -> None:
    seen = iter([False, False, True])
    wait_until(lambda: next(seen), 5, "the third look")
