"""Job state in SQLite (stdlib sqlite3, WAL): shared by the server and its worker processes.

A *job* is one upload. It has up to two *tasks*, one per processing stage: ``anonymize``
and ``test`` (pose on original and anonymized, metrics, skeleton video, report). Each task
moves queued -> running -> done | failed and carries its progress (frames done / total).
Every process opens its own short-lived connection, so the store is safe to use from the
server's threads and from the pool's processes at once.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STAGES = ("anonymize", "test")
ACTIVE = ("queued", "running")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id          TEXT PRIMARY KEY,
    created_at  REAL NOT NULL,
    expires_at  REAL NOT NULL,
    kind        TEXT NOT NULL,          -- video | image
    suffix      TEXT NOT NULL,          -- suffix of the stored original (.mp4, .png ...)
    original    TEXT,                   -- file name in the job folder; NULL once deleted
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    frames      INTEGER NOT NULL,       -- 0 when the container does not say
    fps         REAL NOT NULL,
    duration    REAL NOT NULL,          -- seconds
    has_audio   INTEGER NOT NULL,
    bytes       INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tasks (
    job_id      TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    stage       TEXT NOT NULL,          -- anonymize | test
    state       TEXT NOT NULL,          -- queued | running | done | failed
    params      TEXT NOT NULL DEFAULT '{}',
    done        INTEGER NOT NULL DEFAULT 0,
    total       INTEGER NOT NULL DEFAULT 0,
    phase       TEXT,                   -- what the running task is doing, for people
    mark_at     REAL,                   -- when the first frame was done (ETA counts from here)
    mark_done   INTEGER,                -- frames done at mark_at
    queued_at   REAL,
    started_at  REAL,
    finished_at REAL,
    error       TEXT,
    result      TEXT,
    PRIMARY KEY (job_id, stage)
);
CREATE INDEX IF NOT EXISTS jobs_expiry ON jobs(expires_at);
"""


def new_job_id() -> str:
    """A random URL-safe job id of 192 bits (32 characters)."""
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Media:
    """What decoding the upload found. Technical facts only: no container tags are kept."""

    kind: str  # "video" or "image"
    suffix: str  # suffix of the stored original, e.g. ".mp4", ".png"
    width: int  # px
    height: int  # px
    frames: int  # 1 for images; 0 when a video's container does not say
    fps: float  # frames/s (0 for images)
    duration: float  # seconds (0 for images)
    has_audio: bool
    bytes: int  # size of the upload


@dataclass(frozen=True)
class Task:
    """One stage of a job. done/total in frames; times are Unix seconds."""

    stage: str
    state: str
    params: dict[str, Any]
    done: int
    total: int
    phase: str | None
    mark_at: float | None
    mark_done: int | None
    queued_at: float | None
    started_at: float | None
    finished_at: float | None
    error: str | None
    result: dict[str, Any] | None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    def eta_seconds(self, now: float | None = None) -> float | None:
        """Remaining seconds at the frame rate measured since the first frame was done.

        Model loading before the first frame is left out of the rate; None until two
        progress reports have come in.
        """
        if self.state != "running" or self.mark_at is None or self.mark_done is None or self.total <= 0:
            return None
        frames = self.done - self.mark_done
        if frames <= 0:
            return None
        elapsed = (now or time.time()) - self.mark_at
        return max(0.0, elapsed * (self.total - self.done) / frames)

    def to_api(self, now: float | None = None) -> dict[str, Any]:
        eta = self.eta_seconds(now)
        return {
            "state": self.state,
            "params": self.params,
            "done": self.done,
            "total": self.total,
            "phase": self.phase,
            "percent": (round(100.0 * self.done / self.total, 1) if self.total
                        else (100.0 if self.state == "done" else 0.0)),
            "eta_seconds": None if eta is None else round(eta, 1),
            "error": self.error,
            "retry": self.state == "failed",
            "result": self.result,
        }


@dataclass(frozen=True)
class Job:
    """One upload and its tasks (keyed by stage)."""

    id: str
    created_at: float
    expires_at: float
    media: Media
    original: str | None
    tasks: dict[str, Task] = field(default_factory=dict)

    def task(self, stage: str) -> Task | None:
        return self.tasks.get(stage)

    def done(self, stage: str) -> bool:
        t = self.tasks.get(stage)
        return t is not None and t.state == "done"

    @property
    def busy(self) -> bool:
        return any(t.active for t in self.tasks.values())


def _connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(str(path), timeout=30.0, isolation_level=None)
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA foreign_keys = ON")
    con.execute("PRAGMA busy_timeout = 30000")
    return con


class JobStore:
    """All reads and writes of job state. ``path`` is the SQLite file (created if missing)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def init(self) -> None:
        """Create the database and tables, and switch the file to WAL mode."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = _connect(self.path)
        try:
            con.execute("PRAGMA journal_mode = WAL")
            con.executescript(_SCHEMA)
        finally:
            con.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        con = _connect(self.path)
        try:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        finally:
            con.close()

    # --- jobs -------------------------------------------------------------------------------

    def create_job(self, job_id: str, media: Media, original: str, retention_seconds: float,
                   now: float | None = None) -> Job:
        now = time.time() if now is None else now
        with self._tx() as con:
            con.execute(
                "INSERT INTO jobs (id, created_at, expires_at, kind, suffix, original, width, height, frames,"
                " fps, duration, has_audio, bytes) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (job_id, now, now + retention_seconds, media.kind, media.suffix, original, media.width, media.height,
                 media.frames, media.fps, media.duration, int(media.has_audio), media.bytes),
            )
        job = self.get(job_id, now=now)
        assert job is not None
        return job

    def get(self, job_id: str, now: float | None = None) -> Job | None:
        """The job, or None when it does not exist or has expired (callers answer both alike)."""
        now = time.time() if now is None else now
        con = _connect(self.path)
        try:
            row = con.execute("SELECT * FROM jobs WHERE id = ? AND expires_at > ?", (job_id, now)).fetchone()
            if row is None:
                return None
            tasks = con.execute("SELECT * FROM tasks WHERE job_id = ?", (job_id,)).fetchall()
        finally:
            con.close()
        return _job(row, tasks)

    def clear_original(self, job_id: str) -> None:
        with self._tx() as con:
            con.execute("UPDATE jobs SET original = NULL WHERE id = ?", (job_id,))

    def delete_job(self, job_id: str) -> None:
        with self._tx() as con:
            con.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def expired_ids(self, now: float | None = None) -> list[str]:
        """Ids whose retention ended and that have no running task."""
        now = time.time() if now is None else now
        con = _connect(self.path)
        try:
            rows = con.execute(
                "SELECT id FROM jobs WHERE expires_at <= ? AND NOT EXISTS ("
                " SELECT 1 FROM tasks WHERE tasks.job_id = jobs.id AND tasks.state = 'running')", (now,)
            ).fetchall()
        finally:
            con.close()
        return [r["id"] for r in rows]

    def all_ids(self) -> set[str]:
        con = _connect(self.path)
        try:
            return {r["id"] for r in con.execute("SELECT id FROM jobs")}
        finally:
            con.close()

    # --- tasks ------------------------------------------------------------------------------

    def queue_task(self, job_id: str, stage: str, params: dict[str, Any], now: float | None = None) -> bool:
        """Queue ``stage`` of a job (replacing a finished or failed run); False if one is active."""
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}")
        now = time.time() if now is None else now
        with self._tx() as con:
            busy = con.execute("SELECT 1 FROM tasks WHERE job_id = ? AND state IN ('queued', 'running')",
                               (job_id,)).fetchone()
            if busy:
                return False
            con.execute(
                "INSERT OR REPLACE INTO tasks (job_id, stage, state, params, done, total, queued_at)"
                " VALUES (?, ?, 'queued', ?, 0, 0, ?)",
                (job_id, stage, json.dumps(params), now),
            )
            if stage == "anonymize":  # a new anonymized video invalidates an earlier test
                con.execute("DELETE FROM tasks WHERE job_id = ? AND stage = 'test'", (job_id,))
        return True

    def start_task(self, job_id: str, stage: str, total: int = 0, phase: str | None = None) -> bool:
        """Mark a queued task running; False when it is no longer queued (e.g. the job was deleted)."""
        with self._tx() as con:
            cur = con.execute("UPDATE tasks SET state = 'running', started_at = ?, done = 0, total = ?, phase = ?,"
                              " mark_at = NULL, mark_done = NULL"
                              " WHERE job_id = ? AND stage = ? AND state = 'queued'",
                              (time.time(), total, phase, job_id, stage))
            return cur.rowcount == 1

    def progress(self, job_id: str, stage: str, done: int, total: int, phase: str | None = None) -> None:
        with self._tx() as con:
            con.execute("UPDATE tasks SET done = ?, total = ?, phase = COALESCE(?, phase),"
                        " mark_done = CASE WHEN mark_at IS NULL AND ? > 0 THEN ? ELSE mark_done END,"
                        " mark_at = CASE WHEN mark_at IS NULL AND ? > 0 THEN ? ELSE mark_at END"
                        " WHERE job_id = ? AND stage = ? AND state = 'running'",
                        (int(done), int(total), phase, int(done), int(done), int(done), time.time(), job_id, stage))

    def finish_task(self, job_id: str, stage: str, result: dict[str, Any]) -> None:
        with self._tx() as con:
            con.execute("UPDATE tasks SET state = 'done', finished_at = ?, done = MAX(done, total), result = ?,"
                        " error = NULL WHERE job_id = ? AND stage = ?",
                        (time.time(), json.dumps(result), job_id, stage))

    def fail_task(self, job_id: str, stage: str, error: str) -> None:
        with self._tx() as con:
            con.execute("UPDATE tasks SET state = 'failed', finished_at = ?, error = ? WHERE job_id = ? AND stage = ?",
                        (time.time(), error, job_id, stage))

    def interrupt_active(self, reason: str) -> list[tuple[str, str]]:
        """Mark every queued or running task failed (after a restart); return (job_id, stage) pairs."""
        with self._tx() as con:
            rows = con.execute("SELECT job_id, stage FROM tasks WHERE state IN ('queued', 'running')").fetchall()
            con.execute("UPDATE tasks SET state = 'failed', finished_at = ?, error = ?"
                        " WHERE state IN ('queued', 'running')", (time.time(), reason))
        return [(r["job_id"], r["stage"]) for r in rows]


def _job(row: sqlite3.Row, tasks: list[sqlite3.Row]) -> Job:
    media = Media(kind=row["kind"], suffix=row["suffix"], width=row["width"],
                  height=row["height"], frames=row["frames"], fps=row["fps"], duration=row["duration"],
                  has_audio=bool(row["has_audio"]), bytes=row["bytes"])
    return Job(
        id=row["id"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        media=media,
        original=row["original"],
        tasks={t["stage"]: _task(t) for t in tasks},
    )


def _task(t: sqlite3.Row) -> Task:
    return Task(
        stage=t["stage"], state=t["state"], params=json.loads(t["params"] or "{}"), done=t["done"],
        total=t["total"], phase=t["phase"], mark_at=t["mark_at"], mark_done=t["mark_done"],
        queued_at=t["queued_at"], started_at=t["started_at"], finished_at=t["finished_at"], error=t["error"],
        result=json.loads(t["result"]) if t["result"] else None,
    )
