"""The two stages a worker process runs for a job: Anonymize (method + control, audit) and Test.

Anonymize: one decode and detection pass writes the anonymized video *and* the re-encode
control (the original re-encoded, nothing anonymized; it is the Test's control and the
"original" side of the review player, which a browser can always play), then the pipeline's
audit checks the output (with leak crops for the reviewer). Test: the persons in the first
frame, then pose on the original for the chosen person and on the anonymized video and the
control, replaying the original's crops (same person, never swapped), compared and judged by
the one engine. Every step reports progress by phase through :class:`Phases`.
"""

from __future__ import annotations

import json
import logging
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from anonymotion.errors import AnonymotionError, ConfigError
from anonymotion.web import files
from anonymotion.web.jobs import Job, JobStore

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


class Superseded(Exception):
    """This run no longer owns its task (the server restarted, or a retry replaced it): stop."""


class Phases:
    """Progress of one running task, by phase, written to the store at most every ``interval`` s.

    ``phases(name)`` gives a progress(done, total) callback for phase ``name``. When the store
    refuses a write (this attempt lost the task), the callback raises :class:`Superseded`
    so an orphaned run stops instead of carrying on.
    """

    def __init__(self, store: JobStore, job_id: str, stage: str, attempt: str, interval: float = 0.25) -> None:
        self.store, self.job_id, self.stage, self.attempt, self.interval = store, job_id, stage, attempt, interval
        self._last = 0.0

    def write(self, phase: str, done: int, total: int | None) -> None:
        if not self.store.progress(self.job_id, self.stage, self.attempt, phase, done, total):
            raise Superseded(f"{self.stage} run superseded")

    def __call__(self, phase: str, start: bool = True) -> Progress:
        """The progress callback of ``phase``; ``start``: the phase begins now (else at its first report)."""
        if start:
            self.write(phase, 0, None)

        def report(done: int, total: int) -> None:
            now = time.monotonic()
            if now - self._last < self.interval and done < total:
                return
            self._last = now
            self.write(phase, done, total)

        return report


def method_overrides(params: dict[str, Any]) -> dict[str, Any]:
    """AnonymizeConfig fields for the page's choices (method, level, shape, keep_audio, accept_damaged)."""
    method = str(params.get("method", "blur"))
    out: dict[str, Any] = {"method": method, "shape": params.get("shape", "ellipse"),
                           "keep_audio": bool(params.get("keep_audio", False))}
    if params.get("accept_damaged"):
        out["accept_damaged"] = True
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
    """True when the privacy audit module is installed (its verdict is shown beside the result)."""
    try:
        from anonymotion.audit import audit  # noqa: F401
    except ImportError:
        return False
    return True


# --- Anonymize ---------------------------------------------------------------------------------

def failure_reason(exc: AnonymotionError) -> str:
    """What the page says when a stage stopped on a typed error (a damaged video: how to go on)."""
    from anonymotion.errors import DamagedInputError

    if isinstance(exc, DamagedInputError):
        first = f", the first at {exc.first_t:.2f} s" if exc.first_t is not None else ""
        return (f"damaged: {exc.frames} frame{'s' if exc.frames != 1 else ''}{first}. The decoder had to conceal errors "
                "or lost data, and a face can hide in a damaged frame, so nothing was kept. Re-export the video, or "
                "tick \"Accept a damaged video\" to anonymize it with every damaged frame blurred whole")
    return exc.problem or str(exc)


def anonymize_stage(job: Job, folder: Path, params: dict[str, Any], phases: Phases) -> dict[str, Any]:
    """Anonymize the upload (videos: with the control in the same pass, then the audit)."""
    from anonymotion.config import AnonymizeConfig
    from anonymotion.pipeline import anonymize, anonymize_methods

    original = folder / job.original  # type: ignore[operator]
    out = folder / ("anonymized" + files.output_suffix(job.media.kind, job.media.suffix))
    overrides = method_overrides(params)
    if job.media.kind != "video":
        overrides.pop("accept_damaged", None)
        result = anonymize(original, out, progress=phases("anonymize"), **overrides)
        return _anonymize_result(overrides, result, None, {"anonymized": out.name,
                                                           "manifest": result.manifest_path.name})
    check = audit_available()
    config = AnonymizeConfig().with_overrides(**overrides, audit=check)
    outputs = {overrides["method"]: out, "reencode": folder / files.CONTROL_VIDEO}
    results = anonymize_methods(original, outputs, config=config, progress=phases("anonymize"),
                                audit_progress=phases("audit", start=False) if check else None,
                                audit_crops=folder / files.CROPS_DIR)
    result = results[overrides["method"]]
    for extra in folder.glob(Path(files.CONTROL_VIDEO).stem + ".*"):  # the control's own sidecars
        if extra.name != files.CONTROL_VIDEO:
            extra.unlink(missing_ok=True)
    names = {"anonymized": out.name, "manifest": result.manifest_path.name,
             "regions": result.regions_path.name if result.regions_path else None, "control": files.CONTROL_VIDEO}
    audit = None
    if result.audit:
        audit = _review_audit(folder, result.audit)
        names["audit"] = audit.pop("file")
        names["crops"] = audit.pop("zip")
    return _anonymize_result(overrides, result, audit, names)


def _anonymize_result(overrides: dict[str, Any], result: Any, audit: dict | None,
                      names: dict[str, str | None]) -> dict[str, Any]:
    return {"method": overrides["method"], "frames": result.frames, "faces": result.faces, "held": result.held,
            "files": names, "audit": audit,
            # the pipeline's fail-closed flags: a damaged input or a reason to look never shows as plain "done"
            "damaged_frames": int(result.damaged_frames), "review": [str(r) for r in result.review]}


def _review_audit(folder: Path, summary: dict[str, Any]) -> dict[str, Any]:
    """Make the audit report shareable and list its leak crops for the page.

    The report's server paths (which hold the job id) become the job's own file names; the
    crops are zipped for download. Returns the page's audit summary with ``file`` and ``zip``.
    """
    from anonymotion.io.writer import commit_file, temp_path_for, write_text_atomic

    path = folder / str(summary.get("report") or "anonymized.audit.json")
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["original"] = "original" if doc.get("original") else None
    doc["anonymized"] = Path(str(doc.get("anonymized", "anonymized.mp4"))).name
    crops = [Path(p).name for p in doc.get("leak_crops", [])]
    doc["leak_crops"] = crops
    write_text_atomic(path, json.dumps(doc, indent=2) + "\n")
    leaks = {f"leak_f{c['frame']:06d}_face{c['track']:04d}.png": c for c in (doc.get("faces") or {}).get("leaks", [])}
    zipped = None
    if crops:
        final = folder / files.CROPS_ZIP
        tmp = temp_path_for(final)
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as z:
            for name in crops:
                z.write(folder / files.CROPS_DIR / name, arcname=name)
        commit_file(tmp, final)
        zipped = final.name
    return {
        "verdict": str(summary["verdict"]),
        "leaks": int(summary["leaked_face_frames"]),
        "leaked_faces": int(summary["leaked_faces"]),
        "not_verified": int(summary.get("not_verified_face_frames") or 0),
        "residual": int(summary["failing_residual_faces"]),
        "metadata": int(summary["metadata_findings"]),
        "reasons": list(doc.get("reasons", [])),
        "crops": [{"name": n, "frame": int(leaks[n]["frame"]), "t": float(leaks[n]["t"]),
                   "size": float(leaks[n]["size"]), "ssim": leaks[n].get("ssim"), "detail": leaks[n].get("detail"),
                   "box": [round(float(v), 1) for v in leaks[n]["box"]],
                   "track": int(leaks[n]["track"])} for n in crops if n in leaks],
        "file": path.name,
        "zip": zipped,
    }


# --- Test ---------------------------------------------------------------------------------------

def test_stage(job: Job, folder: Path, params: dict[str, Any], phases: Phases) -> dict[str, Any]:
    """Persons, then the one engine (:func:`anonymotion.evaluation.study_outputs`) on the anonymized
    video and the control made in the anonymization pass; verdicts, files and the report."""
    from anonymotion.config import StudyOptions
    from anonymotion.evaluation import study_outputs, write_compare_outputs
    from anonymotion.evaluation.judge import CONTROL
    from anonymotion.web.persons import find_persons, first_frame, write_thumbnails
    from anonymotion.web.report import write_report
    from anonymotion.web.results import summarize
    from anonymotion.web.review import write_skeleton

    anon_task = job.task("anonymize")
    if anon_task is None or anon_task.state != "done" or not anon_task.result:
        raise AnonymotionError(None, "anonymize the video before testing it")
    method = anon_task.result["method"]
    anonymized = folder / anon_task.result["files"]["anonymized"]
    control_path = folder / (anon_task.result["files"].get("control") or files.CONTROL_VIDEO)
    if not control_path.is_file():
        raise AnonymotionError(None, "the re-encode control is missing; anonymize the video again")
    original = folder / job.original  # type: ignore[operator]
    out_dir = folder / files.TEST_DIR
    out_dir.mkdir(exist_ok=True)

    report = phases("persons")
    persons = find_persons(first_frame(original))
    thumbs = write_thumbnails(first_frame(anonymized), persons, folder / files.PERSONS_DIR)
    report(1, 1)
    wanted = params.get("person")
    chosen = persons[0] if persons else None
    if wanted is not None:
        chosen = next((p for p in persons if p.id == int(wanted)), None)
        if chosen is None:
            raise ConfigError(None, f"person {wanted} is not among the {len(persons)} person(s) found")
    options = StudyOptions(subject=chosen.subject() if chosen is not None else "auto")
    outputs = {method: anonymized, CONTROL: control_path}  # poses follow in this order
    phases("pose_original")
    study = study_outputs(original, outputs, options, progress=_study_progress(phases, outputs),
                          names={method: "anonymized", CONTROL: "re-encoded original"},
                          overlay={method: folder / files.POSE_VIDEO})
    comparison, control = study.results[method], study.results[CONTROL]
    verdicts = [v for v in study.verdicts if v["method"] == method]
    write_compare_outputs(comparison, out_dir)
    write_skeleton(out_dir, study.poses["original"], study.poses[method])
    result: dict[str, Any] = {
        "summary": summarize(comparison, control, verdicts),
        "person": None if chosen is None else {**chosen.to_json(), "thumbnail": thumbs.get(chosen.id)},
        "persons": [{**p.to_json(), "thumbnail": thumbs.get(p.id)} for p in persons],
        "files": {"pose": files.POSE_VIDEO, "metrics": _rel(out_dir / "compare.csv", folder),
                  "plot": _rel(out_dir / "angles.png", folder), "report": files.REPORT},
    }
    write_report(folder / files.REPORT, job, anon_task.result, result, folder)
    return result


def _study_progress(phases: Phases, outputs: dict[str, Path]) -> Progress:
    """Map the engine's one (done, total) count — original, then each output in order — onto phases."""
    from anonymotion.evaluation.judge import CONTROL

    names = ["pose_original"] + ["control" if label == CONTROL else "pose_anonymized" for label in outputs]
    reports = {name: phases(name, start=False) for name in names}

    def report(done: int, total: int) -> None:
        per = max(1, total // len(names))
        k = min(done // per, len(names) - 1) if done < total else len(names) - 1
        reports[names[k]](done - k * per, per)

    return report


def _rel(path: Path, folder: Path) -> str | None:
    return str(path.relative_to(folder)) if path.is_file() else None


def detector_choices() -> list[dict[str, str]]:
    """The face detectors offered under "Advanced" (value = AnonymizeConfig.detector), the default first."""
    from anonymotion.config import AnonymizeConfig

    default = AnonymizeConfig().detector
    labels = {"centerface": "CenterFace", "yunet": "YuNet", "centerface,yunet": "CenterFace + YuNet",
              "centerface-ms": "CenterFace, small faces enlarged", "centerface-ms,yunet":
              "CenterFace with small faces enlarged + YuNet", "blazeface": "BlazeFace (large faces only)"}
    order = [default, *(v for v in labels if v != default)]
    return [{"value": v, "label": labels.get(v, v) + (" (default)" if v == default else "")} for v in order]
