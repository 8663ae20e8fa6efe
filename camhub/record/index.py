"""Where the recordings are: one SQLite row per segment (``recordings.db``).

A row is written before its file is created, and completed when the segment closes; a
row still open at start-up belongs to a segment whose writer died, and
:meth:`SegmentIndex.recover` completes it from the file itself.

``container`` says what the file is: ``cseg`` (the cameras' JPEGs,
:mod:`camhub.record.segment`) or ``fmp4`` (a video camera's own packets in fragmented
MP4, :mod:`camhub.record.video_segment`); ``codec`` is ``jpeg`` or the video codec and
``mime`` the type a browser is asked about (``video/mp4; codecs="avc1.64001f"``; empty
for ``cseg``, which no browser plays).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from camhub.datadir import ensure_dir, open_db
from camhub.record.segment import SegmentError, scan_segment
from camhub.record.video_segment import recover_segment
from camhub.video.packet import TIME_BASE, BitstreamError

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
    closed INTEGER NOT NULL DEFAULT 0,
    container TEXT NOT NULL DEFAULT 'cseg',
    codec TEXT NOT NULL DEFAULT 'jpeg',
    mime TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS segments_by_camera ON segments(camera, start);
CREATE INDEX IF NOT EXISTS segments_by_start ON segments(start);
"""
_ADDED = {  # columns newer than the first schema: added to older databases on open
    "container": "TEXT NOT NULL DEFAULT 'cseg'",
    "codec": "TEXT NOT NULL DEFAULT 'jpeg'",
    "mime": "TEXT NOT NULL DEFAULT ''",
}
_COLUMNS = 'id, camera, path, start, "end", frames, bytes, closed, container, codec, mime'


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
    container: str = "cseg"
    codec: str = "jpeg"
    mime: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "camera": self.camera,
            "start": self.start,
            "end": self.end,
            "frames": self.frames,
            "bytes": self.bytes,
            "closed": self.closed,
            "container": self.container,
            "codec": self.codec,
            "mime": self.mime,
        }


class SegmentIndex:
    """Thread-safe; paths are stored relative to ``root`` so a data dir can move."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / "recordings.db"
        self._conn = open_db(self.path, SCHEMA)
        self._lock = threading.Lock()
        have = {str(r[1]) for r in self._conn.execute("PRAGMA table_info(segments)")}
        for column, decl in _ADDED.items():
            if column not in have:
                self._conn.execute(f"ALTER TABLE segments ADD COLUMN {column} {decl}")

    @classmethod
    def open(cls, data_dir: Path) -> SegmentIndex:
        """``data_dir/recordings``; a clear DataDirError if it cannot be used."""
        return cls(ensure_dir(data_dir / "recordings", "recordings directory"))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _row(self, row: tuple[object, ...]) -> Segment:
        sid, camera, path, start, end, frames, size, closed, container, codec, mime = row
        return Segment(
            int(sid),  # type: ignore[call-overload]
            str(camera),
            self.root / str(path),
            float(start),  # type: ignore[arg-type]
            float(end),  # type: ignore[arg-type]
            int(frames),  # type: ignore[call-overload]
            int(size),  # type: ignore[call-overload]
            bool(closed),
            str(container),
            str(codec),
            str(mime),
        )

    def add(
        self,
        camera: str,
        path: Path,
        start: float,
        *,
        container: str = "cseg",
        codec: str = "jpeg",
        mime: str = "",
    ) -> int:
        with self._lock:
            cur = self._conn.execute(
                'INSERT INTO segments (camera, path, start, "end", container, codec, mime) '
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (camera, str(path.relative_to(self.root)), start, start, container, codec, mime),
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
                f"SELECT {_COLUMNS} FROM segments WHERE closed = 0"
            ).fetchall()
        for row in rows:
            seg = self._row(row)
            try:
                frames, end, size, truncated = _scan(seg)
            except (SegmentError, BitstreamError, OSError) as exc:
                log.warning("dropping the index row of a lost segment %s: %s", seg.path, exc)
                self.remove(seg.id)
                continue
            self.update(seg.id, end, frames, size, closed=True)
            log.info(
                "recovered segment %s: %d frames%s",
                seg.path.name,
                frames,
                " (its last frame was cut short)" if truncated else "",
            )
        return len(rows)

    def get(self, sid: int) -> Segment | None:
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_COLUMNS} FROM segments WHERE id = ?", (sid,)
            ).fetchone()
        return None if row is None else self._row(row)

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
        sql = f"SELECT {_COLUMNS} FROM segments"
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
                f"SELECT {_COLUMNS} FROM segments WHERE closed = 1 ORDER BY start LIMIT ?",
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


def _scan(seg: Segment) -> tuple[int, float, int, bool]:
    """(frames, end time, bytes, was cut short) of a segment whose writer died; a video
    segment's cut-off last fragment is trimmed from the file."""
    if seg.container == "fmp4":
        found = recover_segment(seg.path)
        return found.samples, seg.start + found.duration / TIME_BASE, found.end, found.truncated
    scan = scan_segment(seg.path)
    return scan.frames, scan.last or seg.start, scan.size, scan.truncated
