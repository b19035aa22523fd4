"""Retention: every file of a job is deleted once its retention period ends.

:func:`sweep` does one pass (expired jobs, job folders the database does not know, stale
half-received uploads); :class:`Sweeper` runs it in a daemon thread every few seconds.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time

from anonymotion.web.jobs import JobStore
from anonymotion.web.settings import Settings

log = logging.getLogger(__name__)


def sweep(store: JobStore, settings: Settings, now: float | None = None) -> int:
    """Delete expired jobs (rows and folders) and orphaned files; return the number of jobs removed."""
    now = time.time() if now is None else now
    removed = 0
    for job_id in store.expired_ids(now):
        shutil.rmtree(settings.jobs_dir / job_id, ignore_errors=True)
        store.delete_job(job_id)
        removed += 1
    known = store.all_ids()
    if settings.jobs_dir.is_dir():
        for folder in settings.jobs_dir.iterdir():
            if folder.name not in known:
                # a folder without a row: its job was deleted, or the server stopped mid-upload
                shutil.rmtree(folder, ignore_errors=True) if folder.is_dir() else folder.unlink(missing_ok=True)
    if settings.incoming_dir.is_dir():
        for path in settings.incoming_dir.iterdir():
            try:
                stale = now - path.stat().st_mtime > min(settings.retention_seconds, 6 * 3600)
            except FileNotFoundError:
                continue
            if stale:
                path.unlink(missing_ok=True)
    if removed:
        log.info("retention: deleted %d expired job(s)", removed)
    return removed


def clear_incoming(settings: Settings) -> None:
    """At start-up no upload is in flight: remove every half-received file."""
    if settings.incoming_dir.is_dir():
        for path in settings.incoming_dir.iterdir():
            if path.is_file():
                path.unlink(missing_ok=True)


class Sweeper:
    """Runs :func:`sweep` every ``settings.sweep_interval`` seconds in a daemon thread."""

    def __init__(self, store: JobStore, settings: Settings) -> None:
        self.store, self.settings = store, settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="anonymotion-sweeper", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.sweep_interval):
            try:
                sweep(self.store, self.settings)
            except Exception:  # noqa: BLE001 - the sweeper must keep running; the next pass retries
                log.exception("retention sweep failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
