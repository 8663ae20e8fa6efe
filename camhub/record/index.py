"""Where the recordings are: one SQLite row per segment (``recordings.db``).

A row is written before its file is created, and completed when the segment closes; a
row still open at start-up belongs to a segment whose writer died, and
:meth:`SegmentIndex.recover` completes it from the file itself.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from camhub.datadir import ensure_dir, open_db
from camhub.record.segment import SegmentError, scan_segment

log = logging.getLogger("camhub.record")

SCHEMA = """
CREATE TABLE IF NOT EXISTS segments (
    id INTEGER PRIMARY KEY,
    camera TEXT NOT NULL,
    path TEXT NOT NULL,
    start REAL NOT NULL,
    "end" REAL NOT NULL,
    frames INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    closed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS segments_by_camera ON segments(camera, start);
CREATE INDEX IF NOT EXISTS segments_by_start ON segments(start);
"""


@dataclass(slots=True)
class Segment:
    id: int
    camera: str
    path: Path
    start: float
    end: float
    frames: int
    bytes: int
    closed: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "camera": self.camera,
            "start": self.start,
            "end": self.end,
            "frames": self.frames,
            "bytes": self.bytes,
            "closed": self.closed,
        }


class SegmentIndex:
    """Thread-safe; paths are stored relative to ``root`` so a data dir can move."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / "recordings.db"
        self._conn = open_db(self.path, SCHEMA)
        self._lock = threading.Lock()

    @classmethod
    def open(cls, data_dir: Path) -> SegmentIndex:
        """``data_dir/recordings``; a clear DataDirError if it cannot be used."""
        return cls(ensure_dir(data_dir / "recordings", "recordings directory"))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _row(self, row: tuple[object, ...]) -> Segment:
        sid, camera, path, start, end, frames, size, closed = row
        return Segment(
            int(sid),  # type: ignore[call-overload]
            str(camera),
            self.root / str(path),
            float(start),  # type: ignore[arg-type]
            float(end),  # type: ignore[arg-type]
            int(frames),  # type: ignore[call-overload]
            int(size),  # type: ignore[call-overload]
            bool(closed),
        )

    def add(self, camera: str, path: Path, start: float) -> int:
        with self._lock:
            cur = self._conn.execute(
                'INSERT INTO segments (camera, path, start, "end") VALUES (?, ?, ?, ?)',
                (camera, str(path.relative_to(self.root)), start, start),
            )
            return int(cur.lastrowid or 0)

    def update(self, sid: int, end: float, frames: int, size: int, *, closed: bool) -> None:
        with self._lock:
            self._conn.execute(
                'UPDATE segments SET "end" = ?, frames = ?, bytes = ?, closed = ? WHERE id = ?',
                (end, frames, size, int(closed), sid),
            )

    def remove(self, sid: int) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM segments WHERE id = ?", (sid,))

    def recover(self) -> int:
        """Complete the rows of segments whose writer died; returns how many."""
        with self._lock:
            rows = self._conn.execute(
                'SELECT id, camera, path, start, "end", frames, bytes, closed FROM segments '
                "WHERE closed = 0"
            ).fetchall()
        for row in rows:
            seg = self._row(row)
            try:
                scan = scan_segment(seg.path)
            except SegmentError as exc:
                log.warning("dropping the index row of a lost segment: %s", exc)
                self.remove(seg.id)
                continue
            self.update(seg.id, scan.last or seg.start, scan.frames, scan.size, closed=True)
            log.info(
                "recovered segment %s: %d frames%s",
                seg.path.name,
                scan.frames,
                " (its last frame was cut short)" if scan.truncated else "",
            )
        return len(rows)

    def find(
        self,
        camera: str | None = None,
        start: float | None = None,
        end: float | None = None,
        *,
        limit: int = 100_000,
    ) -> list[Segment]:
        """Segments overlapping [start, end], oldest first (open ones included: their
        ``end``, ``frames`` and ``bytes`` are filled in when they close)."""
        where: list[str] = []
        args: list[object] = []
        if camera is not None:
            where.append("camera = ?")
            args.append(camera)
        if start is not None:  # an open segment's row ends where it began: it goes on
            where.append('("end" >= ? OR closed = 0)')
            args.append(start)
        if end is not None:
            where.append("start <= ?")
            args.append(end)
        sql = 'SELECT id, camera, path, start, "end", frames, bytes, closed FROM segments'
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY start LIMIT ?"
        args.append(limit)
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [self._row(r) for r in rows]

    def oldest_closed(self, limit: int = 100) -> list[Segment]:
        with self._lock:
            rows = self._conn.execute(
                'SELECT id, camera, path, start, "end", frames, bytes, closed FROM segments '
                "WHERE closed = 1 ORDER BY start LIMIT ?",
                (limit,),
            ).fetchall()
        return [self._row(r) for r in rows]

    def total_bytes(self) -> int:
        with self._lock:
            return int(
                self._conn.execute("SELECT COALESCE(SUM(bytes), 0) FROM segments").fetchone()[0]
            )

    def cameras(self) -> list[str]:
        with self._lock:
            rows = self._conn.execute("SELECT DISTINCT camera FROM segments ORDER BY camera")
            return [str(r[0]) for r in rows.fetchall()]
