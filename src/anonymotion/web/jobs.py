"""Job state in SQLite (stdlib sqlite3, WAL): shared by the server and its worker processes.

A *job* is one upload. It has up to two *tasks*, one per processing stage: ``anonymize``
and ``test`` (pose on original and anonymized, metrics, skeleton video, report). Each task
moves queued -> running -> done | failed and carries its progress by phase (see
:mod:`anonymotion.web.progress`). Every process opens its own short-lived connection, so the
store is safe to use from the server's threads and from the pool's processes at once.

Every queued run of a task gets a random *attempt* id. Only the worker holding that id may
start it, report progress, finish or fail it, and only while it is queued or running: a worker
orphaned by a server crash (whose task the restart already marked failed, or a retry
replaced) can never overwrite the job's state, and a failed task keeps its first reason.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from anonymotion.web.model import ACTIVE, STAGES, Job, Media, Task

__all__ = ["ACTIVE", "STAGES", "Job", "JobStore", "Media", "Task", "new_job_id"]


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
    bytes       INTEGER NOT NULL,
    label       TEXT NOT NULL DEFAULT ''   -- short, non-identifying code used in download names
);
CREATE TABLE IF NOT EXISTS tasks (
    job_id      TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    stage       TEXT NOT NULL,          -- anonymize | test
    state       TEXT NOT NULL,          -- queued | running | done | failed
    params      TEXT NOT NULL DEFAULT '{}',
    attempt     TEXT NOT NULL DEFAULT '',  -- id of the run allowed to write this row
    phases      TEXT NOT NULL DEFAULT '[]', -- JSON list of phases (web.progress)
    queued_at   REAL,
    started_at  REAL,
    finished_at REAL,
    error       TEXT,
    result      TEXT,
    PRIMARY KEY (job_id, stage)
);
CREATE INDEX IF NOT EXISTS jobs_expiry ON jobs(expires_at);
"""
#: columns added since the first release: (table, column, definition) for databases made before
_MIGRATIONS = (
    ("jobs", "label", "TEXT NOT NULL DEFAULT ''"),
    ("tasks", "attempt", "TEXT NOT NULL DEFAULT ''"),
    ("tasks", "phases", "TEXT NOT NULL DEFAULT '[]'"),
)


def new_job_id() -> str:
    """A random URL-safe job id of 192 bits (32 characters)."""
    return secrets.token_urlsafe(24)


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
            for table, column, definition in _MIGRATIONS:
                have = {r["name"] for r in con.execute(f"PRAGMA table_info({table})")}
                if column not in have:
                    con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
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
                   now: float | None = None, label: str = "") -> Job:
        now = time.time() if now is None else now
        with self._tx() as con:
            con.execute(
                "INSERT INTO jobs (id, created_at, expires_at, kind, suffix, original, width, height, frames,"
                " fps, duration, has_audio, bytes, label) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (job_id, now, now + retention_seconds, media.kind, media.suffix, original, media.width, media.height,
                 media.frames, media.fps, media.duration, int(media.has_audio), media.bytes, label),
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

    def queue(self, job_id: str, runs: list[tuple[str, dict[str, Any], str, list[dict[str, Any]]]],
              now: float | None = None) -> bool:
        """Queue one or more stages as (stage, params, attempt id, phases); False if one is active.

        Queuing ``anonymize`` alone drops an earlier test (a new anonymized video invalidates it).
        """
        now = time.time() if now is None else now
        stages = [r[0] for r in runs]
        for stage in stages:
            if stage not in STAGES:
                raise ValueError(f"unknown stage {stage!r}")
        with self._tx() as con:
            busy = con.execute("SELECT 1 FROM tasks WHERE job_id = ? AND state IN ('queued', 'running')",
                               (job_id,)).fetchone()
            if busy:
                return False
            if "anonymize" in stages and "test" not in stages:
                con.execute("DELETE FROM tasks WHERE job_id = ? AND stage = 'test'", (job_id,))
            for stage, params, attempt, phases in runs:
                con.execute(
                    "INSERT OR REPLACE INTO tasks (job_id, stage, state, params, attempt, phases, queued_at)"
                    " VALUES (?, ?, 'queued', ?, ?, ?, ?)",
                    (job_id, stage, json.dumps(params), attempt, json.dumps(phases), now),
                )
        return True

    def start_task(self, job_id: str, stage: str, attempt: str) -> bool:
        """Mark a queued task running; False when it is not queued under ``attempt`` any more."""
        with self._tx() as con:
            cur = con.execute("UPDATE tasks SET state = 'running', started_at = ?"
                              " WHERE job_id = ? AND stage = ? AND attempt = ? AND state = 'queued'",
                              (time.time(), job_id, stage, attempt))
            return cur.rowcount == 1

    def progress(self, job_id: str, stage: str, attempt: str, phase: str, done: int,
                 total: int | None = None) -> bool:
        """Record ``done`` of ``total`` frames in ``phase``; False when ``attempt`` does not own the task."""
        from anonymotion.web.progress import advance

        now = time.time()
        with self._tx() as con:
            row = con.execute("SELECT phases FROM tasks WHERE job_id = ? AND stage = ? AND attempt = ?"
                              " AND state = 'running'", (job_id, stage, attempt)).fetchone()
            if row is None:
                return False
            phases = json.loads(row["phases"] or "[]")
            advance(phases, phase, done, total, now)
            con.execute("UPDATE tasks SET phases = ? WHERE job_id = ? AND stage = ? AND attempt = ?",
                        (json.dumps(phases), job_id, stage, attempt))
        return True

    def finish_task(self, job_id: str, stage: str, attempt: str, result: dict[str, Any]) -> bool:
        """Mark the running task done with ``result``; False (nothing written) for another attempt."""
        from anonymotion.web.progress import finish_all

        now = time.time()
        with self._tx() as con:
            row = con.execute("SELECT phases FROM tasks WHERE job_id = ? AND stage = ? AND attempt = ?"
                              " AND state = 'running'", (job_id, stage, attempt)).fetchone()
            if row is None:
                return False
            phases = json.loads(row["phases"] or "[]")
            finish_all(phases, now)
            con.execute("UPDATE tasks SET state = 'done', finished_at = ?, phases = ?, result = ?, error = NULL"
                        " WHERE job_id = ? AND stage = ? AND attempt = ?",
                        (now, json.dumps(phases), json.dumps(result), job_id, stage, attempt))
        return True

    def fail_task(self, job_id: str, stage: str, attempt: str, error: str) -> bool:
        """Mark the queued or running task failed; False (nothing written) for another attempt or a
        task that already ended, so the first failure reason is the one kept."""
        with self._tx() as con:
            cur = con.execute("UPDATE tasks SET state = 'failed', finished_at = ?, error = COALESCE(error, ?)"
                              " WHERE job_id = ? AND stage = ? AND attempt = ? AND state IN ('queued', 'running')",
                              (time.time(), error, job_id, stage, attempt))
            return cur.rowcount == 1

    def drop_task(self, job_id: str, stage: str, attempt: str) -> None:
        """Remove a queued run that will not happen (its predecessor in the chain failed)."""
        with self._tx() as con:
            con.execute("DELETE FROM tasks WHERE job_id = ? AND stage = ? AND attempt = ? AND state = 'queued'",
                        (job_id, stage, attempt))

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
        label=row["label"] or "",
        tasks={t["stage"]: _task(t) for t in tasks},
    )


def _task(t: sqlite3.Row) -> Task:
    return Task(
        stage=t["stage"], state=t["state"], params=json.loads(t["params"] or "{}"), attempt=t["attempt"],
        phases=json.loads(t["phases"] or "[]"), queued_at=t["queued_at"], started_at=t["started_at"], finished_at=t["finished_at"], error=t["error"],
        result=json.loads(t["result"]) if t["result"] else None,
    )
