"""One camera's pre-roll: what it sent in the last seconds, kept in whole groups.

A group is what can be played from its first item on: one JPEG, or a video keyframe
and the packets that depend on it. The ring only ever drops whole groups from its old
end, so whatever it hands over starts at a keyframe (picamera2's ``CircularOutput``
does the same). A group that lost a packet is closed: the packets after the loss are
refused until the next keyframe starts a new group.
"""

from __future__ import annotations

from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class PreRoll(Generic[T]):
    """``(time, item, size)`` entries in groups; the caller keeps the byte budget."""

    def __init__(self) -> None:
        self._groups: deque[list[tuple[float, T]]] = deque()
        self._sizes: deque[int] = deque()
        self._open = False
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._groups)

    def add(self, at: float, item: T, size: int, *, starts_group: bool) -> bool:
        """Keep ``item``; ``False`` (not kept) for a packet whose group is gone."""
        if starts_group:
            self._groups.append([])
            self._sizes.append(0)
            self._open = True
        elif not self._open:
            return False
        self._groups[-1].append((at, item))
        self._sizes[-1] += size
        self.bytes += size
        return True

    def close_group(self) -> None:
        """The current group lost a packet: keep what it has, refuse the rest."""
        self._open = False

    def trim(self, horizon: float) -> int:
        """Drop groups wholly replaced by a later group that starts before ``horizon``
        (so the ring still starts at or before it); returns the bytes freed."""
        freed = 0
        while len(self._groups) > 1 and self._groups[1][0][0] < horizon:
            freed += self.drop_oldest()
        return freed

    def drop_oldest(self) -> int:
        """Drop the oldest group (the memory cap); returns the bytes freed."""
        if not self._groups:
            return 0
        self._groups.popleft()
        size = self._sizes.popleft()
        self.bytes -= size
        if not self._groups:
            self._open = False  # its keyframe is gone: wait for the next one
        return size

    def take(self, since: float) -> list[tuple[float, T]]:
        """Empty the ring; returns its items from the last group that starts at or
        before ``since`` (or from the first group, if none does)."""
        groups = list(self._groups)
        first = 0
        for i, group in enumerate(groups):
            if group[0][0] <= since:
                first = i
        self._groups.clear()
        self._sizes.clear()
        self._open = False
        self.bytes = 0
        return [entry for group in groups[first:] for entry in group]
