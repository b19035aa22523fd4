"""One batch task: everything done for one input file, inside a Dask worker process.

:func:`run_task` anonymizes one video (all methods in one decode and detection pass, plus
the ``reencode`` control when evaluating), one image, or one COCO-annotated image; then,
when asked, poses the original and every output and compares them (the evaluation
module), and audits every output (the audit module). It never raises for a bad file: the
error is returned in the result, so one corrupt file cannot stop the batch. Results are
small JSON-able dicts the client stores in the batch manifest.
"""

from __future__ import annotations

import logging
import math
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anonymotion.config import AnonymizeConfig, StudyOptions
from anonymotion.errors import AnonymotionError, DamagedInputError

log = logging.getLogger(__name__)

#: Dask event topic on which workers publish {"key", "done", "total"} progress fractions.
PROGRESS_TOPIC = "anonymotion-batch-progress"
from anonymotion.methods.registry import CONTROL  # noqa: E402  (defined once)
OVERALL_KEYS = ("frames", "epe_px", "epe_norm", "epe_sd_px", "ptk_pct", "pck_005", "pck_01", "keypoints_ref",
                "keypoints_test", "detection_rate_ref", "detection_rate_test", "angle_rmse_mean", "mpjpe_mm",
                "body_altered_frame_count", "body_altered_max_pct", "epe_px_body_intact",
                "angle_rmse_mean_body_intact", "subject_person", "person_frames_ref", "person_frames_matched",
                "person_frames_lost", "person_frames_extra")
KEYPOINT_KEYS = ("keypoint", "epe_px", "epe_sd_px", "n", "ptk_pct", "pck_01")
ANGLE_KEYS = ("angle", "n", "rmse", "bias", "sd", "max_abs", "within_5deg_pct")


@dataclass(frozen=True)
class Task:
    """What to do with one input.

    key: input path relative to INPUT_DIR (manifest key); kind: "video", "image" or "coco";
    outputs: method -> absolute output path; eval_dir: folder for the comparison files
    (None: no evaluation); audit: audit every output; options: how the evaluation compares
    (keypoint score threshold, re-encode control, subject, filter, pose backend);
    coco: the image's annotations (kind "coco").
    """

    key: str
    input: Path
    kind: str
    outputs: dict[str, Path]
    config: AnonymizeConfig
    eval_dir: Path | None = None
    audit: bool = False
    options: StudyOptions = field(default_factory=StudyOptions)
    coco: Any = None


class _Reporter:
    """Publishes a task's progress fraction to the client at most twice a second."""

    def __init__(self, key: str) -> None:
        self.key = key
        self._last = 0.0
        try:
            from distributed import get_worker

            self._worker: Any = get_worker()
        except (ImportError, ValueError):
            self._worker = None

    def __call__(self, done: float, total: float) -> None:
        now = time.monotonic()
        if self._worker is None or (now - self._last < 0.5 and done < total):
            return
        self._last = now
        self._worker.log_event(PROGRESS_TOPIC, {"key": self.key, "done": float(done), "total": float(max(total, 1))})


class _Stages:
    """Maps each stage's own progress(done, total) onto one fraction of the whole task."""

    def __init__(self, report: _Reporter, weights: list[float]) -> None:
        self.report, self.weights, self.stage = report, weights, 0

    def next(self) -> "Any":
        start = sum(self.weights[:self.stage])
        weight = self.weights[self.stage] if self.stage < len(self.weights) else 0.0
        self.stage += 1
        total = sum(self.weights)

        def progress(done: int, n: int) -> None:
            self.report(start + weight * (done / n if n else 1.0), total)

        return progress


def _clean(v: Any) -> Any:
    """NaN/inf -> None and numpy scalars -> Python, so the manifest is strict JSON."""
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def compact_compare(result: Any) -> dict[str, Any]:
    """The parts of a CompareResult the dataset report needs (per keypoint, per angle, gait pairs)."""
    from anonymotion.batch.gait import compact_gait

    return _clean({
        "overall": {k: result.overall.get(k) for k in OVERALL_KEYS},
        "keypoints": [{k: r.get(k) for k in KEYPOINT_KEYS} for r in result.keypoints],
        "angles": [{k: r.get(k) for k in ANGLE_KEYS} for r in result.angles],
        "gait": compact_gait(getattr(result, "gait", None) or {}),
        "persons": [{k: v for k, v in r.items() if k != "angles"} for r in getattr(result, "persons", [])],
        "extra_persons": list(getattr(result, "extra_persons", [])),
    })


def compact_audit(result: Any, out_dir: Path | None = None) -> dict[str, Any]:
    """Verdict, reasons, leaked, found and judged face-frames (those with identifiable detail),
    leak rate among the judged ones, unchanged face-frames set aside by the close look, longest leak run (frames),
    residual faces and metadata findings of an :class:`anonymotion.audit.report.AuditResult`."""
    from anonymotion.audit.faces import leak_rates

    runs = result.runs
    rates = leak_rates(result.checks)["all"]  # over face-frames with identifiable detail
    return _clean({"verdict": result.verdict, "reasons": list(result.reasons), "leaks": result.leak_count,
                   "face_frames": len(result.checks), "judged_face_frames": rates["face_frames"],
                   "leak_rate": rates["rate"], "not_verified_face_frames": len(result.not_verified),
                   "longest_run": runs[0].length if runs else 0, "residual_faces": len(result.residual),
                   "metadata_findings": len(result.metadata),
                   "json": str(result.json_path) if result.json_path else None})


def run_task(task: Task) -> dict[str, Any]:
    """Do ``task``; returns {"key", "status", "error", "frames", "faces", "seconds", "outputs",
    "evaluation", "audit", "extra", "damaged_frames", "review"}. A failure of the file is returned,
    not raised. status: "done", "damaged" (accept_damaged: damaged frames blurred whole) or "failed"."""
    started = time.monotonic()
    out: dict[str, Any] = {"key": task.key, "status": "done", "error": None, "frames": 0, "faces": 0,
                           "outputs": {m: str(p) for m, p in task.outputs.items()}, "evaluation": {},
                           "audit": {}, "extra": {}, "damaged_frames": 0, "review": []}
    try:
        _in_worker_setup()
        if task.kind == "video":
            _video(task, out)
        elif task.kind == "coco":
            _coco(task, out)
        else:
            _image(task, out)
    except AnonymotionError as exc:
        out.update(status="failed", error=f"{type(exc).__name__}: {exc}")
        if isinstance(exc, DamagedInputError):
            out["damaged_frames"] = exc.frames
    except Exception as exc:  # noqa: BLE001 - isolate any failure to its file; the batch goes on
        log.error("%s: unexpected error\n%s", task.input, traceback.format_exc())
        out.update(status="failed", error=f"{type(exc).__name__}: {task.input}: {exc}")
    out["seconds"] = round(time.monotonic() - started, 3)
    return out


def _in_worker_setup() -> None:
    """One OpenCV thread per worker process: the cluster already runs one process per core."""
    import cv2

    cv2.setNumThreads(1)


def _video(task: Task, out: dict[str, Any]) -> None:
    from anonymotion.io.writer import temp_path_for
    from anonymotion.pipeline import anonymize_methods

    evaluate = task.eval_dir is not None
    outputs = dict(task.outputs)
    control_path = None
    if evaluate and task.options.control and CONTROL not in outputs:
        task.eval_dir.mkdir(parents=True, exist_ok=True)  # type: ignore[union-attr]
        control_path = temp_path_for(task.eval_dir / f"{task.input.stem}.{CONTROL}.mp4")  # type: ignore[operator]
        outputs[CONTROL] = control_path
    methods = [m for m in outputs if m != CONTROL or m in task.outputs]
    weights = [1.0] + ([1.0] * (1 + len(outputs)) if evaluate else []) + ([1.0] * len(methods) if task.audit else [])
    stages = _Stages(_Reporter(task.key), weights)
    config = task.config.with_overrides(audit=False)
    try:
        results = anonymize_methods(task.input, outputs, config=config, progress=stages.next())
        first = results[next(iter(task.outputs))]
        out["frames"], out["faces"] = first.frames, first.faces
        out["extra"].update(held=first.held, tracks=first.tracks)
        _record_state(out, [r for m, r in results.items() if m in task.outputs])
        if evaluate:
            _evaluate(task, outputs, out, stages)
    finally:
        if control_path is not None:
            control_path.unlink(missing_ok=True)
            for side in ("regions.jsonl", "manifest.json"):
                control_path.with_name(f"{control_path.stem}.{side}").unlink(missing_ok=True)
    if task.audit:
        for m in methods:
            out["audit"][m] = _audit(task.input, outputs[m], stages.next())


def _record_state(out: dict[str, Any], results: list[Any]) -> None:
    """Damaged input frames (status "damaged": never plainly "done") and review reasons of the outputs."""
    damaged = max((r.damaged_frames for r in results), default=0)
    if damaged:
        out.update(status="damaged", damaged_frames=damaged)
    reasons = [f"{r.method}: {reason}" if len(results) > 1 else reason for r in results for reason in r.review]
    out["review"] = list(dict.fromkeys(out["review"] + reasons))


def _evaluate(task: Task, outputs: dict[str, Path], out: dict[str, Any], stages: _Stages) -> None:
    """Pose the original once and every output, compare and judge each through the one engine."""
    from anonymotion.evaluation.compare import write_compare_outputs
    from anonymotion.evaluation.study import study_outputs

    stage = stages.next()
    for _ in outputs:
        stages.next()
    try:
        study = study_outputs(task.input, outputs, task.options, progress=stage,
                              names={m: str(task.outputs.get(m, p)) for m, p in outputs.items()})
    except AnonymotionError as exc:  # e.g. nobody in the video: the anonymization itself stands
        out["extra"]["evaluation_error"] = f"{type(exc).__name__}: {exc}"
        return
    for m, result in study.results.items():
        write_compare_outputs(result, task.eval_dir / m)  # type: ignore[operator]
        out["evaluation"][m] = compact_compare(result)
        out["evaluation"][m]["verdicts"] = _clean([v for v in study.verdicts if v["method"] == m])
        out["evaluation"][m]["gait_verdicts"] = _clean([{k: v[k] for k in ("outcome", "n_pairs", "bias", "loa_low",
                                                                            "loa_high", "icc", "verdict")}
                                                        for v in study.gait if v["method"] == m])


def _audit(original: Path, output: Path, progress: Any) -> dict[str, Any]:
    """Audit one output against its original; writes ``<output stem>.audit.json`` beside it."""
    from anonymotion.audit import audit

    return compact_audit(audit(original, output, out_dir=output.parent, progress=progress))


def _image(task: Task, out: dict[str, Any]) -> None:
    from anonymotion.pipeline import anonymize

    report = _Reporter(task.key)
    for n, (m, path) in enumerate(task.outputs.items()):
        result = anonymize(task.input, path, config=task.config.with_overrides(method=m, audit=False))
        out["frames"], out["faces"] = 1, result.faces
        _record_state(out, [result])
        report(n + 1, len(task.outputs))
    if task.audit or task.eval_dir is not None:
        out["extra"]["note"] = "images are not evaluated or audited (videos only)"


def _coco(task: Task, out: dict[str, Any]) -> None:
    from anonymotion.batch.coco import anonymize_coco_image

    report = _Reporter(task.key)
    for n, (m, path) in enumerate(task.outputs.items()):
        done = anonymize_coco_image(task.input, path, task.coco, task.config.with_overrides(method=m))
        out["frames"], out["faces"] = 1, done["regions"]
        out["extra"]["regions"] = done["counts"]
        report(n + 1, len(task.outputs))
