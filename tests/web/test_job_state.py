"""Job state without a server: attempt ownership in real SQLite, progress by phase, log redaction."""

from __future__ import annotations

import io
import logging
import sqlite3
from pathlib import Path

import pytest

from anonymotion.web.jobs import JobStore, Media, new_job_id
from anonymotion.web.logredact import RedactJobIds, redact
from anonymotion.web.progress import ANONYMIZE_PHASES, TEST_PHASES, advance, estimate, plan

MEDIA = Media(kind="video", suffix=".mp4", width=64, height=48, frames=100, fps=25.0, duration=4.0,
              has_audio=False, bytes=1000)


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    s = JobStore(tmp_path / "jobs.sqlite3")
    s.init()
    return s


def test_only_the_attempt_that_owns_a_task_writes_it_and_the_first_failure_reason_stays(store):
    job = new_job_id()
    store.create_job(job, MEDIA, "original.mp4", 3600, label="c1")
    assert store.queue(job, [("anonymize", {"method": "blur"}, "A", plan(ANONYMIZE_PHASES, 100))])
    assert not store.queue(job, [("anonymize", {}, "B", [])])  # one run at a time
    assert not store.start_task(job, "anonymize", "B")  # not this attempt's task
    assert store.start_task(job, "anonymize", "A")
    assert store.progress(job, "anonymize", "A", "anonymize", 10, 100)
    assert not store.progress(job, "anonymize", "B", "anonymize", 99, 100)
    assert store.get(job).task("anonymize").phases[0]["done"] == 10

    # the server restarts: the run is marked failed; the orphaned attempt A can no longer write
    assert store.interrupt_active("interrupted by a server restart") == [(job, "anonymize")]
    assert not store.progress(job, "anonymize", "A", "anonymize", 50, 100)
    assert not store.fail_task(job, "anonymize", "A", "the orphan's own error")
    assert not store.finish_task(job, "anonymize", "A", {"frames": 100})
    task = store.get(job).task("anonymize")
    assert task.state == "failed" and task.error == "interrupted by a server restart" and task.result is None

    # a retry gets a new attempt; the old one still cannot touch it
    assert store.queue(job, [("anonymize", {}, "C", plan(ANONYMIZE_PHASES, 100))])
    assert store.start_task(job, "anonymize", "C")
    assert not store.finish_task(job, "anonymize", "A", {"frames": 1})
    assert store.fail_task(job, "anonymize", "C", "first reason")
    assert not store.fail_task(job, "anonymize", "C", "second reason")
    assert store.get(job).task("anonymize").error == "first reason"


def test_a_chained_run_shows_both_stages_phases_and_a_new_anonymization_drops_the_old_test(store):
    job = new_job_id()
    store.create_job(job, MEDIA, "original.mp4", 3600)
    assert store.queue(job, [("anonymize", {}, "A", plan(ANONYMIZE_PHASES, 100)),
                             ("test", {"person": None}, "T", plan(TEST_PHASES, 100))])
    assert store.start_task(job, "anonymize", "A")
    store.progress(job, "anonymize", "A", "anonymize", 100, 100)
    assert store.finish_task(job, "anonymize", "A", {"method": "blur"})
    progress = store.get(job).progress()
    assert [p["name"] for p in progress["phases"]] == ["anonymize", "audit", "persons", "pose_original",
                                                       "pose_anonymized", "control"]
    assert [p["state"] for p in progress["phases"]][:3] == ["done", "done", "waiting"]
    assert progress["queued"] is True  # the test waits for its turn
    assert store.start_task(job, "test", "T") and store.finish_task(job, "test", "T", {"summary": {}})
    assert store.get(job).progress() is None and store.get(job).done("test")
    assert store.queue(job, [("anonymize", {}, "A2", plan(ANONYMIZE_PHASES, 100))])
    assert store.get(job).task("test") is None


def test_a_database_from_before_attempts_and_labels_is_migrated(tmp_path):
    path = tmp_path / "old.sqlite3"
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE jobs (id TEXT PRIMARY KEY, created_at REAL NOT NULL, expires_at REAL NOT NULL,
            kind TEXT NOT NULL, suffix TEXT NOT NULL, original TEXT, width INTEGER NOT NULL,
            height INTEGER NOT NULL, frames INTEGER NOT NULL, fps REAL NOT NULL, duration REAL NOT NULL,
            has_audio INTEGER NOT NULL, bytes INTEGER NOT NULL);
        CREATE TABLE tasks (job_id TEXT NOT NULL, stage TEXT NOT NULL, state TEXT NOT NULL,
            params TEXT NOT NULL DEFAULT '{}', done INTEGER NOT NULL DEFAULT 0, total INTEGER NOT NULL DEFAULT 0,
            phase TEXT, mark_at REAL, mark_done INTEGER, queued_at REAL, started_at REAL, finished_at REAL,
            error TEXT, result TEXT, PRIMARY KEY (job_id, stage));
        INSERT INTO jobs VALUES ('x', 0, 1e12, 'video', '.mp4', 'original.mp4', 64, 48, 10, 25, 0.4, 0, 10);
        INSERT INTO tasks (job_id, stage, state, result) VALUES ('x', 'anonymize', 'done', '{"frames": 10}');
    """)
    con.close()
    store = JobStore(path)
    store.init()
    job = store.get("x")
    assert job.label == "" and job.task("anonymize").result == {"frames": 10}
    assert job.task("anonymize").to_api()["percent"] == 100.0


def test_progress_weighs_phases_by_cost_and_the_eta_covers_every_phase_left():
    phases = plan(("anonymize", "audit", "pose_original"), 100)
    assert estimate(phases, now=0.0) == (0.0, None)  # nothing measured yet: no ETA
    advance(phases, "anonymize", 0, 100, now=0.0)
    advance(phases, "anonymize", 10, 100, now=1.0)  # first frames: ETA counts from here
    advance(phases, "anonymize", 60, 100, now=6.0)  # 0.1 s per frame
    percent, eta = estimate(phases, now=6.0)
    # cost: anonymize 1.0, audit 2.0, pose 0.8 per frame -> 60 of 380 units done
    assert percent == pytest.approx(100 * 60 / 380)
    # 40 frames at 0.1 s, audit 100 × 0.2 s, pose 100 × 0.08 s, plus 1 s start-up for each of the two
    assert eta == pytest.approx(4.0 + 20.0 + 8.0 + 2 * 1.0)
    advance(phases, "audit", 0, 100, now=10.0)  # a later phase starting ends the earlier ones
    assert phases[0]["finished"] == 10.0 and phases[0]["done"] == 100


def test_no_job_id_survives_a_log_record():
    job = new_job_id()
    assert redact(f"GET /api/jobs/{job}/files/x HTTP/1.1") == "GET /api/jobs/…/files/x HTTP/1.1"
    assert job not in redact(f"id={job}")
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.addFilter(RedactJobIds())
    logger = logging.getLogger("anonymotion.test.redact")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        logger.info("audit of %s: %s", Path(f"/data/jobs/{job}/anonymized.mp4"), "fail")
        logger.info("client %s - %s %d", "127.0.0.1", f"GET /jobs/{job}", 200)  # the access log's shape
        try:
            raise ValueError(f"cannot read /data/jobs/{job}/x")
        except ValueError:
            logger.exception("worker crashed")
    finally:
        logger.removeHandler(handler)
    text = buf.getvalue()
    assert "audit of /data/jobs/…/anonymized.mp4: fail" in text and "GET /jobs/… 200" in text
    assert "ValueError: cannot read /data/jobs/…/x" in text
    assert job not in text and job[:12] not in text
