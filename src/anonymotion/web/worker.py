"""The job pool: stages run in separate worker processes and report progress through SQLite.

:func:`run_chain` is what a worker process executes: one stage of one job, or Anonymize
followed by the Test (the page's default for videos), each under its own attempt id (see
:mod:`anonymotion.web.jobs`). The stages themselves are in :mod:`anonymotion.web.stages`.
:class:`Runner` owns the process pool and turns a crashed worker into a failed task instead of
a stuck one. A worker process dies with its server: a watchdog thread ends it as soon as its
parent process is gone (a SIGKILLed server leaves no worker encoding on, and none that could
write into a job afterwards).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import secrets
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from threading import Lock
from typing import Any

from anonymotion.errors import AnonymotionError
from anonymotion.web import files
from anonymotion.web.jobs import JobStore
from anonymotion.web.progress import ANONYMIZE_PHASES, TEST_PHASES, plan
from anonymotion.web.stages import (Phases, Superseded, anonymize_stage, audit_available, failure_reason,
                                    test_stage)

log = logging.getLogger(__name__)

INTERNAL_ERROR = "an internal error stopped the processing (details are in the server log); retry, or upload again"
WORKER_DIED = "the worker process stopped unexpectedly (out of memory?); retry"
#: one queued run: (stage, params, attempt id)
Run = tuple[str, dict[str, Any], str]


def stage_phases(stage: str, kind: str, frames: int) -> list[dict[str, Any]]:
    """The phases a stage will go through for a video (or image) of ``frames`` frames."""
    if stage == "test":
        return plan(TEST_PHASES, frames)
    names = ANONYMIZE_PHASES if kind == "video" and audit_available() else ("anonymize",)
    return plan(names, frames)


def run_chain(db_path: str, jobs_dir: str, job_id: str, runs: list[Run], keep_original: bool) -> None:
    """Run the queued ``runs`` of a job in order; after a failure the rest are dropped."""
    store = JobStore(Path(db_path))
    for n, (stage, params, attempt) in enumerate(runs):
        if not run_task(store, Path(jobs_dir), job_id, stage, params, attempt):
            for later, _, later_attempt in runs[n + 1:]:
                store.drop_task(job_id, later, later_attempt)
            return
    maybe_delete_original(store, job_id, files.job_dir(Path(jobs_dir), job_id), keep_original)


def run_task(store: JobStore, jobs_dir: Path, job_id: str, stage: str, params: dict[str, Any], attempt: str) -> bool:
    """Run one stage of one job in this (worker) process; the outcome goes to the store. True if done."""
    job = store.get(job_id)
    if job is None:
        return False  # deleted or expired while queued
    folder = files.job_dir(jobs_dir, job_id)
    if not store.start_task(job_id, stage, attempt):
        return False
    started = time.monotonic()
    phases = Phases(store, job_id, stage, attempt)
    try:
        files.clear_stage(folder, stage, job.original)
        if job.original is None or not (folder / job.original).is_file():
            raise AnonymotionError(None, "the original upload has already been deleted; upload the file again")
        if stage == "anonymize":
            result = anonymize_stage(job, folder, params, phases)
        elif stage == "test":
            result = test_stage(job, folder, params, phases)
        else:
            raise ValueError(f"unknown stage {stage!r}")
        result["seconds"] = round(time.monotonic() - started, 2)
        if not store.finish_task(job_id, stage, attempt, result):
            raise Superseded(f"{stage} run superseded")
        log.info("job %s…: %s done in %.1f s", job_id[:6], stage, result["seconds"])
        return True
    except Superseded:
        log.warning("job %s…: %s stopped: another run owns it now", job_id[:6], stage)
        return False  # the owner of the task (or the restart) decides about its files
    except AnonymotionError as exc:
        files.clear_stage(folder, stage, job.original)
        store.fail_task(job_id, stage, attempt, failure_reason(exc))
        log.info("job %s…: %s failed: %s", job_id[:6], stage, exc.problem)
    except Exception:  # noqa: BLE001 - a worker must record any failure, never leave a job "running"
        log.exception("job %s…: %s crashed", job_id[:6], stage)
        files.clear_stage(folder, stage, job.original)
        store.fail_task(job_id, stage, attempt, INTERNAL_ERROR)
    return False


def maybe_delete_original(store: JobStore, job_id: str, folder: Path, keep_original: bool) -> bool:
    """Without keep_original: delete the upload (and its re-encoded copy) once anonymize and test are done."""
    if keep_original:
        return False
    job = store.get(job_id)
    if job is None or job.original is None:
        return False
    test_needed = job.media.kind == "video"
    if not job.done("anonymize") or (test_needed and not job.done("test")):
        return False
    delete_original(store, job_id, folder, job.original)
    return True


def delete_original(store: JobStore, job_id: str, folder: Path, original: str) -> None:
    """Delete the upload and the control (the original re-encoded) now."""
    (folder / original).unlink(missing_ok=True)
    (folder / files.CONTROL_VIDEO).unlink(missing_ok=True)
    store.clear_original(job_id)
    log.info("job %s…: original upload deleted", job_id[:6])


def _watch_parent(parent: int, interval: float = 0.5) -> None:
    """End this process as soon as its parent (the server) is gone."""
    while True:
        time.sleep(interval)
        if os.getppid() != parent:
            os._exit(70)


def _init_worker() -> None:
    from anonymotion.web.logredact import install

    threading.Thread(target=_watch_parent, args=(os.getppid(),), name="anonymotion-parent-watch",
                     daemon=True).start()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s[worker]: %(message)s")
    logging.captureWarnings(True)  # warnings (which may name a file) go through the same filter
    install()


class Runner:
    """A pool of worker processes running job stages; state changes go through the store."""

    def __init__(self, store: JobStore, jobs_dir: Path, workers: int, keep_original: bool) -> None:
        self.store, self.jobs_dir, self.workers, self.keep_original = store, Path(jobs_dir), workers, keep_original
        self._lock = Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._futures: set[Future] = set()
        self._closing = False

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                # spawn: the server runs threads; a forked child would inherit their locks
                self._pool = ProcessPoolExecutor(max_workers=self.workers, initializer=_init_worker,
                                                 mp_context=multiprocessing.get_context("spawn"))
            return self._pool

    def submit(self, job_id: str, stages: list[tuple[str, dict[str, Any]]], kind: str, frames: int) -> bool:
        """Queue stages to run one after the other; False when the job already has an active task."""
        runs: list[Run] = [(stage, params, secrets.token_hex(8)) for stage, params in stages]
        if not self.store.queue(job_id, [(stage, params, attempt, stage_phases(stage, kind, frames))
                                         for stage, params, attempt in runs]):
            return False
        args = (run_chain, str(self.store.path), str(self.jobs_dir), job_id, runs, self.keep_original)
        try:
            future = self._executor().submit(*args)
        except (BrokenProcessPool, RuntimeError):
            self._reset()
            try:
                future = self._executor().submit(*args)
            except (BrokenProcessPool, RuntimeError, OSError) as exc:
                log.error("cannot start a worker process: %r", exc)
                for stage, _, attempt in runs:
                    self.store.fail_task(job_id, stage, attempt, "no worker process could be started; retry in a "
                                                                 "moment")
                return True
        self._futures.add(future)
        future.add_done_callback(lambda f: self._finished(f, job_id, runs))
        return True

    def _finished(self, future: Future, job_id: str, runs: list[Run]) -> None:
        self._futures.discard(future)
        if future.cancelled() or self._closing:
            return  # at shutdown, the next start marks unfinished tasks failed and cleans up
        exc = future.exception()
        if exc is None:
            return
        log.error("job %s…: worker failed: %r", job_id[:6], exc)
        for stage, _, attempt in runs:
            job = self.store.get(job_id)
            task = job.task(stage) if job else None
            if task is not None and task.active and task.attempt == attempt:
                files.clear_stage(files.job_dir(self.jobs_dir, job_id), stage, job.original if job else None)
                self.store.fail_task(job_id, stage, attempt, WORKER_DIED)
        if isinstance(exc, BrokenProcessPool):
            self._reset()

    def _reset(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        """Stop at once: queued stages are dropped and running worker processes terminated.

        Their tasks stay "running" in the store; the next start marks them failed (with a
        retry) and removes their partial files, exactly as after a crash.
        """
        self._closing = True
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is None:
            return
        processes = list(getattr(pool, "_processes", {}).values())  # no public API in Python 3.11
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in processes:
            if proc.is_alive():
                proc.terminate()
        for proc in processes:
            proc.join(timeout=10)
