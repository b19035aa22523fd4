"""The job pool: stages run in separate worker processes and report progress through SQLite.

``run_task`` is what a worker process executes for one stage of one job: ``anonymize``
(the pipeline) or ``test`` (pose on original and anonymized, metrics, the skeleton video
and the report). :class:`Runner` owns the process pool and turns a crashed worker into a
failed task instead of a stuck one.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from threading import Lock
from typing import Any

from anonymotion.errors import AnonymotionError
from anonymotion.web import files
from anonymotion.web.jobs import Job, JobStore

log = logging.getLogger(__name__)

INTERNAL_ERROR = "an internal error stopped the processing (details are in the server log); retry, or upload again"


class _Reporter:
    """Forwards progress(done, total) to the store at most every ``interval`` seconds.

    Several phases fill one progress bar: a phase starts at ``offset`` frames and ``extra``
    frames of later phases are added to every total it reports.
    """

    def __init__(self, store: JobStore, job_id: str, stage: str, interval: float = 0.25) -> None:
        self.store, self.job_id, self.stage, self.interval = store, job_id, stage, interval
        self.offset, self.extra, self.last, self.inner_total = 0, 0, 0.0, 0
        self.phase: str | None = None

    def set_phase(self, phase: str, offset: int, extra: int, expected: int = 0) -> None:
        """Start a phase expected to take ``expected`` frames (shown until it reports its own total)."""
        self.phase, self.offset, self.extra, self.inner_total = phase, offset, extra, expected
        self.store.progress(self.job_id, self.stage, offset, offset + expected + extra, phase=phase)

    @property
    def end(self) -> int:
        """Frames done once the current phase is complete."""
        return self.offset + self.inner_total

    def __call__(self, done: int, total: int) -> None:
        self.inner_total = max(total, done)
        now = time.monotonic()
        if now - self.last < self.interval and done < total:
            return
        self.last = now
        self.store.progress(self.job_id, self.stage, self.offset + done, self.offset + self.inner_total + self.extra,
                            phase=self.phase)


def method_overrides(params: dict[str, Any]) -> dict[str, Any]:
    """AnonymizeConfig fields for the page's choices (method, level, shape, keep_audio, detector)."""
    method = str(params.get("method", "blur"))
    out: dict[str, Any] = {"method": method, "shape": params.get("shape", "ellipse"),
                           "keep_audio": bool(params.get("keep_audio", False))}
    level = params.get("level")
    if level is not None:
        from anonymotion.methods.registry import level_value

        chosen = level_value(method, int(level))  # level 1 = the library default, by construction
        if chosen is not None:
            out[chosen[0]] = chosen[1]
    if params.get("mask_scale") is not None:
        out["mask_scale"] = float(params["mask_scale"])
    if params.get("detector"):
        out["detector"] = str(params["detector"])  # the same config field as --detector
    return out


def audit_available() -> bool:
    """True when the privacy audit module is installed (its verdict is shown beside the download)."""
    try:
        from anonymotion.audit import audit  # noqa: F401
    except ImportError:
        return False
    return True


def run_task(db_path: str, jobs_dir: str, job_id: str, stage: str, params: dict[str, Any],
             keep_original: bool) -> None:
    """Run one stage of one job in this (worker) process; the outcome goes to the store."""
    store = JobStore(Path(db_path))
    job = store.get(job_id)
    if job is None:
        return  # deleted or expired while queued
    folder = files.job_dir(Path(jobs_dir), job_id)
    if not store.start_task(job_id, stage, total=job.media.frames, phase="starting"):
        return
    started = time.monotonic()
    try:
        files.clear_stage(folder, stage, job.original)
        if job.original is None or not (folder / job.original).is_file():
            raise AnonymotionError(None, "the original upload has already been deleted; upload the file again")
        if stage == "anonymize":
            result = _anonymize(store, job, folder, params)
        elif stage == "test":
            result = _test(store, job, folder)
        else:
            raise ValueError(f"unknown stage {stage!r}")
        result["seconds"] = round(time.monotonic() - started, 2)
        store.finish_task(job_id, stage, result)
        log.info("job %s…: %s done in %.1f s", job_id[:6], stage, result["seconds"])
    except AnonymotionError as exc:
        files.clear_stage(folder, stage, job.original)
        store.fail_task(job_id, stage, exc.problem or str(exc))
        log.info("job %s…: %s failed: %s", job_id[:6], stage, exc.problem)
        return
    except Exception:  # noqa: BLE001 - a worker must record any failure, never leave a job "running"
        log.exception("job %s…: %s crashed", job_id[:6], stage)
        files.clear_stage(folder, stage, job.original)
        store.fail_task(job_id, stage, INTERNAL_ERROR)
        return
    maybe_delete_original(store, job_id, folder, keep_original)


def maybe_delete_original(store: JobStore, job_id: str, folder: Path, keep_original: bool) -> bool:
    """Delete the upload once the anonymized output and the test are both done (unless kept)."""
    if keep_original:
        return False
    job = store.get(job_id)
    if job is None or job.original is None:
        return False
    test_needed = job.media.kind == "video"
    if not job.done("anonymize") or (test_needed and not job.done("test")):
        return False
    (folder / job.original).unlink(missing_ok=True)
    store.clear_original(job_id)
    log.info("job %s…: original upload deleted", job_id[:6])
    return True


def _anonymize(store: JobStore, job: Job, folder: Path, params: dict[str, Any]) -> dict[str, Any]:
    from anonymotion.pipeline import anonymize

    report = _Reporter(store, job.id, "anonymize")
    report.set_phase("anonymizing", 0, 0, job.media.frames)
    out = folder / ("anonymized" + files.output_suffix(job.media.kind, job.media.suffix))
    overrides = method_overrides(params)
    check = audit_available() and job.media.kind == "video"  # the pipeline audits and records it
    result = anonymize(folder / job.original, out, progress=report, audit=check,  # type: ignore[operator]
                       **overrides)
    audit = None
    if result.audit:
        audit = {"verdict": str(result.audit["verdict"]), "leaks": int(result.audit["leaked_face_frames"])}
    return {
        "method": overrides["method"],
        "frames": result.frames,
        "faces": result.faces,
        "held": result.held,
        "files": {"anonymized": out.name, "manifest": result.manifest_path.name,
                  "regions": result.regions_path.name if result.regions_path else None},
        "audit": audit,
    }


def _test(store: JobStore, job: Job, folder: Path) -> dict[str, Any]:
    """Pose on the original, on a re-encode control and on the anonymized video (drawing its
    skeleton video in the same pass); compare both with the original; write metrics, plot, report.

    The control is the original re-encoded with the same codec settings and nothing
    anonymized: a method is judged by its excess over what encoding alone changes.
    """
    from anonymotion.evaluation import compare_poses, pose_video, write_compare_outputs
    from anonymotion.pipeline import anonymize
    from anonymotion.web.report import write_report
    from anonymotion.web.results import summarize

    anon_task = job.task("anonymize")
    if anon_task is None or anon_task.state != "done" or not anon_task.result:
        raise AnonymotionError(None, "anonymize the video before testing it")
    anonymized = folder / anon_task.result["files"]["anonymized"]
    original = folder / job.original  # type: ignore[operator]
    out_dir = folder / files.TEST_DIR
    out_dir.mkdir(exist_ok=True)
    control_path = out_dir / "control.mp4"
    frames = max(1, job.media.frames)
    report = _Reporter(store, job.id, "test")
    report.set_phase("pose on the original", 0, 3 * frames, frames)
    reference = pose_video(original, progress=report, require_person=True)
    report.set_phase("re-encoding the original as a control", report.end, 2 * frames, frames)
    anonymize(original, control_path, method="reencode", progress=report)
    report.set_phase("pose on the control", report.end, frames, frames)
    control = pose_video(control_path, progress=report)
    report.set_phase("pose on the anonymized video", report.end, 0, frames)
    tested = pose_video(anonymized, overlay_path=folder / files.POSE_VIDEO, progress=report)
    comparison = compare_poses(reference, tested, threshold=0.5, ref_name="original", test_name="anonymized")
    control_comparison = compare_poses(reference, control, threshold=0.5, ref_name="original",
                                       test_name="re-encoded original")
    write_compare_outputs(comparison, out_dir)
    for extra in out_dir.glob("control*"):  # the control video and its sidecars are not offered
        extra.unlink(missing_ok=True)
    result: dict[str, Any] = {
        "summary": summarize(comparison, control_comparison),
        "files": {"pose": files.POSE_VIDEO, "metrics": _rel(out_dir / "compare.csv", folder),
                  "plot": _rel(out_dir / "angles.png", folder), "report": files.REPORT},
    }
    write_report(folder / files.REPORT, job, anon_task.result, result, folder)
    return result


def _rel(path: Path, folder: Path) -> str | None:
    return str(path.relative_to(folder)) if path.is_file() else None


def _init_worker() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s[worker]: %(message)s")


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

    def submit(self, job_id: str, stage: str, params: dict[str, Any]) -> bool:
        """Queue a stage; False when the job already has an active task."""
        if not self.store.queue_task(job_id, stage, params):
            return False
        args = (run_task, str(self.store.path), str(self.jobs_dir), job_id, stage, params, self.keep_original)
        try:
            future = self._executor().submit(*args)
        except (BrokenProcessPool, RuntimeError):
            self._reset()
            try:
                future = self._executor().submit(*args)
            except (BrokenProcessPool, RuntimeError, OSError) as exc:
                log.error("cannot start a worker process: %r", exc)
                self.store.fail_task(job_id, stage, "no worker process could be started; retry in a moment")
                return True
        self._futures.add(future)
        future.add_done_callback(lambda f: self._finished(f, job_id, stage))
        return True

    def _finished(self, future: Future, job_id: str, stage: str) -> None:
        self._futures.discard(future)
        if future.cancelled() or self._closing:
            return  # at shutdown, the next start marks unfinished tasks failed and cleans up
        exc = future.exception()
        if exc is None:
            return
        log.error("job %s…: %s worker failed: %r", job_id[:6], stage, exc)
        job = self.store.get(job_id)
        task = job.task(stage) if job else None
        if task is not None and task.active:
            files.clear_stage(files.job_dir(self.jobs_dir, job_id), stage, job.original if job else None)
            self.store.fail_task(job_id, stage, "the worker process stopped unexpectedly (out of memory?); retry")
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
