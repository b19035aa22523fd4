"""Dataset runs on Dask: plan the tasks, skip what is done, run the rest, record, report.

:func:`run_batch` is what ``anonymotion batch`` calls. The client process (this one) owns
the batch manifest and the report; the work runs in Dask worker processes, each with one
thread (the models are not thread-safe): a LocalCluster sized to the machine by default,
or an existing cluster given by its scheduler address (the workers must see INPUT_DIR and
OUTPUT_DIR at the same paths, e.g. on a shared file system).

Output layout (OUTPUT_DIR mirrors INPUT_DIR's tree):
- one method: ``OUTPUT_DIR/<sub/dir>/<name>_anonymized.mp4`` (+ .regions.jsonl, .manifest.json);
  several methods: ``OUTPUT_DIR/<method>/<sub/dir>/...``;
- COCO images keep their file names (the annotation file, copied unchanged, still fits);
- ``OUTPUT_DIR/_evaluation/<sub/dir>/<stem>/<method>/compare.*`` with ``--evaluate``;
- ``OUTPUT_DIR/batch_manifest.json``, ``report.html``, ``report*.csv``.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from anonymotion.batch.state import BatchLock, BatchManifest, Entry, fingerprint, hash_input, remove_stale_temps
from anonymotion.batch.plan import EVAL_DIR, check_methods, parse_methods, plan_tasks, task_parameters
from anonymotion.batch.tasks import PROGRESS_TOPIC, Task, run_task
from anonymotion.config import AnonymizeConfig, StudyOptions
from anonymotion.errors import ConfigError, InputError
from anonymotion.io.naming import find_media, output_name, refuse_collisions
from anonymotion.io.images import is_image

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = "10s"  # to reach an existing scheduler
Echo = Callable[[str], None]


@dataclass
class BatchSummary:
    """What a batch run did. failed: (input key, error) pairs; skipped: inputs already done."""

    total: int
    processed: int
    skipped: int
    failed: list[tuple[str, str]]
    frames: int
    seconds: float
    manifest: Path
    report: Path | None = None
    dashboard: str | None = None
    workers: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def default_workers() -> int:
    """One worker process per CPU core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _frames_hint(task: Task) -> int:
    if task.kind != "video":
        return 1
    from anonymotion.io.video import probe

    try:
        info = probe(task.input, task.config.limits)
    except InputError:
        return 1
    return max(1, info.frame_count or int(round(info.duration * info.fps)) or 1)


class _Progress:
    """Overall bars (files, frames) on a terminal; one line per finished file otherwise."""

    def __init__(self, total_files: int, total_frames: int, *, quiet: bool, echo: Echo) -> None:
        self.quiet, self.echo = quiet, echo
        self.lock = threading.Lock()
        self.partial: dict[str, float] = {}
        self.frames_done = 0
        self.files_done = 0
        self.total_files = total_files
        self.bars: tuple[Any, Any] | None = None
        if not quiet and sys.stderr.isatty():
            from tqdm import tqdm

            self.bars = (tqdm(total=total_files, desc="files", unit="file", position=0, dynamic_ncols=True),
                         tqdm(total=total_frames, desc="frames", unit="frame", position=1, dynamic_ncols=True))

    def partial_update(self, key: str, frames: float) -> None:
        with self.lock:
            self.partial[key] = frames
            self._draw()

    def finished(self, key: str, frames: int, line: str) -> None:
        with self.lock:
            self.partial.pop(key, None)
            self.frames_done += frames
            self.files_done += 1
            if self.bars is not None:
                self.bars[0].update(1)
                self.bars[0].write(line, file=sys.stderr)
                self._draw()
            elif not self.quiet:
                self.echo(f"[{self.files_done}/{self.total_files}] {line}")

    def _draw(self) -> None:
        if self.bars is not None:
            bar = self.bars[1]
            bar.n = min(bar.total or 0, int(self.frames_done + sum(self.partial.values()))) if bar.total \
                else int(self.frames_done)
            bar.refresh()

    def close(self) -> None:
        if self.bars is not None:
            for b in self.bars:
                b.close()


def _client(scheduler: str | None, workers: int) -> tuple[Any, Any]:
    """(client, cluster): connect to ``scheduler`` or start a LocalCluster of ``workers`` processes."""
    from distributed import Client

    if not logging.getLogger().isEnabledFor(logging.INFO):  # Dask logs every start/stop at INFO
        logging.getLogger("distributed").setLevel(logging.WARNING)
    if scheduler:
        try:
            return Client(scheduler, timeout=CONNECT_TIMEOUT), None
        except (OSError, TimeoutError) as exc:
            raise ConfigError(None, f"--scheduler {scheduler}: cannot connect ({exc})") from None
    cluster = local_cluster(workers)
    return Client(cluster), cluster


def worker_env(workers: int, cores: int | None = None) -> dict[str, str]:
    """Thread counts for the native libraries of each worker process: the cores shared out
    (at least 1), so N single-threaded workers do not each start a pool as large as the
    machine. Variables the user has set are left alone."""
    share = str(max(1, (cores or default_workers()) // max(1, workers)))
    return {k: share for k in ("ANONYMOTION_ORT_THREADS", "OMP_NUM_THREADS") if k not in os.environ}


def local_cluster(workers: int, dashboard_address: str = "127.0.0.1:8787") -> Any:
    """A LocalCluster of ``workers`` processes with one thread each (the models are not thread-safe)."""
    from distributed import LocalCluster

    return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=dashboard_address,
                        env=worker_env(workers))


def dashboard_link(client: Any, local: bool) -> str | None:
    """The Dask dashboard address with a note when it cannot draw (it needs ``bokeh``), or None."""
    import importlib.util

    try:
        services = client.scheduler_info().get("services", {})
    except (OSError, TimeoutError):
        return None
    if "dashboard" not in services:
        return None
    if local and importlib.util.find_spec("bokeh") is None:
        return f"{client.dashboard_link} (empty until bokeh>=3.1 is installed)"
    return client.dashboard_link


def run_batch(
    input_dir: str | os.PathLike,
    output_dir: str | os.PathLike,
    config: AnonymizeConfig | None = None,
    methods: list[str] | str | None = None,
    *,
    evaluate: bool = False,
    audit: bool = False,
    options: StudyOptions | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
    coco: str | os.PathLike | None = None,
    force: bool = False,
    report: bool = True,
    quiet: bool = False,
    echo: Echo | None = None,
) -> BatchSummary:
    """Anonymize every video and image under ``input_dir`` into ``output_dir`` on Dask.

    methods: names or "a,b" (default: config.method). evaluate: pose and compare every
    output with its original through the one comparison engine (``options``: keypoint score
    threshold, re-encode control, subject, filter, pose backend). audit: audit every output.
    workers: LocalCluster size (default: one
    per core); scheduler: address of an existing cluster; client: an existing
    ``distributed.Client`` to use instead. coco: COCO keypoint annotation file of the
    images in ``input_dir`` (head regions from the annotated keypoints). force: redo
    done inputs too. echo(line): where status lines go (default stdout).
    """
    started = time.monotonic()
    echo = echo or (lambda line: print(line, flush=True))
    input_dir, output_dir = Path(input_dir).absolute(), Path(output_dir).absolute()
    config = (config or AnonymizeConfig()).validated()
    methods = parse_methods(methods if methods is not None else config.method)
    config = config.with_overrides(method=methods[0])
    if not input_dir.is_dir():
        raise InputError(input_dir, "not a folder" if input_dir.exists() else "folder not found")
    if output_dir.resolve() == input_dir.resolve():
        raise ConfigError(output_dir, "OUTPUT_DIR must differ from INPUT_DIR")
    check_methods(methods, config)
    coco_images = None
    if coco is not None:
        from anonymotion.batch.coco import load_coco

        coco_images = load_coco(coco)
    with BatchLock(output_dir):
        removed = remove_stale_temps(output_dir)
        manifest = BatchManifest.load(output_dir)
        tasks, warnings = plan_tasks(input_dir, output_dir, config, methods, evaluate=evaluate, audit=audit,
                                     options=options, coco_images=coco_images)
        if removed and not quiet:
            echo(f"removed {len(removed)} unfinished temporary file(s) of an interrupted run")
        if coco is not None:
            from anonymotion.batch.coco import copy_annotations

            for root in ({output_dir} if len(methods) == 1 else {output_dir / m for m in methods}):
                copy_annotations(Path(coco), root / Path(coco).name)
        manifest.parameters = {"input_dir": str(input_dir), "methods": methods, "evaluate": evaluate,
                               "audit": audit, "coco": str(coco) if coco else None, "config": config.to_json()}
        todo: list[tuple[Task, str, tuple[str, int, int]]] = []
        skipped = 0
        for task in tasks:
            params_fp = fingerprint(task_parameters(task, methods, evaluate, audit))
            if not task.input.exists():
                manifest.record(Entry(key=task.key, sha256="", size=0, mtime_ns=0, fingerprint=params_fp,
                                      status="failed", error=f"InputError: {task.input}: file not found"))
                continue
            digest = hash_input(task.input, manifest.entries.get(task.key))
            if not force and manifest.is_done(task.key, digest[0], params_fp):
                entry = manifest.entries[task.key]
                entry.size, entry.mtime_ns = digest[1], digest[2]  # touched, same content: no rehash next time
                skipped += 1
                continue
            todo.append((task, params_fp, digest))
        if not todo and not quiet:
            echo(f"nothing to do: {skipped} input(s) already done with these parameters")
        summary = BatchSummary(total=len(tasks), processed=0, skipped=skipped, failed=[], frames=0, seconds=0.0,
                               manifest=manifest.path, warnings=warnings)
        if todo:
            try:
                _execute(todo, manifest, output_dir, summary, workers=workers or default_workers(),
                         scheduler=scheduler, client=client, quiet=quiet, echo=echo)
            except KeyboardInterrupt:
                if scheduler is None and client is None:  # our local workers are gone: nobody writes here now
                    remove_stale_temps(output_dir)
                raise
        keys = {t.key for t in tasks}
        summary.failed = sorted((k, e.error or "") for k, e in manifest.entries.items()
                                if e.status == "failed" and k in keys)
        manifest.save()
        if report:
            from anonymotion.batch.report import write_report

            summary.report = write_report(output_dir, manifest, [t.key for t in tasks], methods)
    summary.seconds = round(time.monotonic() - started, 3)
    return summary


def _execute(todo: list[tuple[Task, str, tuple[str, int, int]]], manifest: BatchManifest, output_dir: Path,
             summary: BatchSummary, *, workers: int, scheduler: str | None, client: Any, quiet: bool,
             echo: Echo) -> None:
    """Run the tasks on Dask and record each result in the manifest as it arrives."""
    from distributed import as_completed

    hints = {t.key: _frames_hint(t) for t, _, _ in todo}
    own_client = client is None
    cluster = None
    if own_client:
        client, cluster = _client(scheduler, workers)
    progress = None
    try:
        summary.workers = len(client.scheduler_info().get("workers", {}))
        summary.dashboard = dashboard_link(client, local=scheduler is None)
        if not quiet:
            where = f"scheduler {scheduler}" if scheduler else f"{summary.workers} local worker process(es)"
            dash = f"; dashboard {summary.dashboard}" if summary.dashboard else "; no dashboard"
            echo(f"processing {len(todo)} file(s) on {where}{dash}")
        progress = _Progress(len(todo), sum(hints.values()), quiet=quiet, echo=echo)

        def on_event(event: Any) -> None:
            msg = event[1] if isinstance(event, tuple) else event
            if isinstance(msg, dict) and msg.get("key") in hints:
                progress.partial_update(msg["key"], hints[msg["key"]] * msg["done"] / msg["total"])

        client.subscribe_topic(PROGRESS_TOPIC, on_event)
        run_id = uuid.uuid4().hex[:8]
        meta = {}
        futures = []
        for task, params_fp, digest in todo:
            fut = client.submit(run_task, task, pure=False, key=f"anonymotion-{run_id}-{task.key}")
            meta[fut.key] = (task, params_fp, digest)
            futures.append(fut)
        for fut in as_completed(futures):
            task, params_fp, digest = meta[fut.key]
            try:
                result = fut.result()
            except Exception as exc:  # noqa: BLE001 - a worker died (KilledWorker...) or the task was lost
                result = {"key": task.key, "status": "failed", "error": f"{type(exc).__name__}: {exc}",
                          "frames": 0, "faces": 0, "seconds": 0.0, "outputs": {}, "evaluation": {}, "audit": {},
                          "extra": {}}
            entry = Entry(
                key=task.key, sha256=digest[0], size=digest[1], mtime_ns=digest[2], fingerprint=params_fp,
                status=result["status"], error=result["error"], frames=int(result["frames"] or 0),
                faces=int(result["faces"] or 0), seconds=float(result["seconds"] or 0.0),
                outputs={m: _rel(Path(p), output_dir) for m, p in result["outputs"].items()}
                if result["status"] == "done" else {},
                evaluation=result["evaluation"], audit=result["audit"], extra=result["extra"],
            )
            manifest.record(entry)
            summary.processed += 1
            summary.frames += entry.frames
            if entry.status == "done":
                line = f"{task.key}: done ({entry.frames} frames, {entry.faces} regions, {entry.seconds:.1f} s)"
            else:
                line = f"{task.key}: FAILED {entry.error}"
            progress.finished(task.key, hints[task.key], line)
            fut.release()
    finally:
        if progress is not None:
            progress.close()
        try:
            client.unsubscribe_topic(PROGRESS_TOPIC)
        except (KeyError, ValueError):
            pass
        if own_client:
            client.close()
            if cluster is not None:
                cluster.close()


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
