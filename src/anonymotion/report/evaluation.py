"""The evaluation's tables (methods as columns, a Δ column) and its output files.

Tables (lists of dict rows), for each video:
- ``overall``: one row per method label: EPE (px, torso-normalised), PTK, PCK@0.05/0.1,
  detection rate, mean confidence and its change, mean angle RMSE, MPJPE (mm).
- ``keypoints``: one row per keypoint: ``<label>`` mean EPE (px) and ``<label>_2sd``
  (2 × SD, px) per method; ``delta`` = max − min of the mean EPE across the methods
  (the ``reencode`` control and ``+lossless`` variants excluded).
- ``angles``: one row per 2D angle: ``<label>_rmse`` and ``<label>_sd`` (°) per method;
  ``delta_rmse`` and ``delta_sd`` across the methods.
- ``verdicts``: one row per angle and method: RMSE and SD against the control's, the
  excess, and the verdict against the 5° / 1.27° limits (see metrics.angles.verdict).
- ``angles_3d``: the same for the 3D angles from world landmarks (MediaPipe's metric
  estimate; no confidence filter).
- ``wilcoxon``: paired signed-rank tests of per-frame |angle error| between labels.
With several videos, ``anova`` holds per angle the repeated-measures ANOVA and Friedman
test of angle RMSE across methods, videos as units.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from anonymotion.metrics.angles import verdict
from anonymotion.metrics.stats import friedman, pairwise_wilcoxon, rm_anova

if TYPE_CHECKING:  # pragma: no cover
    from anonymotion.evaluation import CompareResult, EvaluationResult

log = logging.getLogger(__name__)

CONTROL = "reencode"
OVERALL_KEYS = ("epe_px", "epe_norm", "ptk_pct", "pck_005", "pck_01", "detection_rate_test", "confidence_test",
                "confidence_change_pct", "angle_rmse_mean", "mpjpe_mm", "body_altered_frame_count",
                "body_altered_max_pct", "epe_px_body_intact", "angle_rmse_mean_body_intact")


def _methods(labels: list[str]) -> list[str]:
    return [m for m in labels if m != CONTROL and not m.endswith("+lossless")]


def _delta(values: list[float]) -> float:
    v = [x for x in values if np.isfinite(x)]
    return float(max(v) - min(v)) if v else float("nan")


def build_tables(results: dict[str, dict[str, "CompareResult"]], labels: list[str]) -> dict[str, list[dict]]:
    """All tables for ``results[video][label]`` (label order: control first, then methods)."""
    tables: dict[str, list[dict]] = {k: [] for k in ("overall", "keypoints", "angles", "verdicts", "wilcoxon")}
    for video, by_label in results.items():
        cols = [lab for lab in labels if lab in by_label] + [lab for lab in by_label if lab not in labels]
        methods = _methods(cols)
        for lab in cols:
            ov = by_label[lab].overall
            tables["overall"].append({"video": video, "method": lab, **{k: ov.get(k) for k in OVERALL_KEYS}})
        first = by_label[cols[0]]
        for i, kp in enumerate(first.keypoint_names):
            row: dict = {"video": video, "keypoint": kp}
            for lab in cols:
                r = by_label[lab].keypoints[i]
                row[lab] = r["epe_px"]
                row[f"{lab}_2sd"] = 2 * r["epe_sd_px"]
            row["delta"] = _delta([row[m] for m in methods])
            tables["keypoints"].append(row)
        control = by_label.get(CONTROL)
        for j, name in enumerate(first.angle_names):
            row = {"video": video, "angle": name}
            for lab in cols:
                a = by_label[lab].angles[j]
                row[f"{lab}_rmse"], row[f"{lab}_sd"] = a["rmse"], a["sd"]
            row["delta_rmse"] = _delta([row[f"{m}_rmse"] for m in methods])
            row["delta_sd"] = _delta([row[f"{m}_sd"] for m in methods])
            tables["angles"].append(row)
            for lab in cols:
                if lab == CONTROL:
                    continue
                a = by_label[lab].angles[j]
                c = control.angles[j] if control is not None else {"rmse": 0.0, "sd": 0.0}
                excess = a["rmse"] - c["rmse"]
                sd_change = abs(a["sd"] - c["sd"])
                tables["verdicts"].append({
                    "video": video, "angle": name, "method": lab, "rmse": a["rmse"], "control_rmse": c["rmse"],
                    "excess_rmse": excess, "sd": a["sd"], "control_sd": c["sd"], "sd_change": sd_change,
                    "within_5deg_pct": a["within_5deg_pct"],
                    "verdict": verdict(excess, sd_change, lost=not np.isfinite(a["rmse"]) and np.isfinite(c["rmse"])),
                })
            errors = {lab: np.abs(by_label[lab].angle_diff[:, j]) for lab in cols if by_label[lab].angle_diff is not None}
            for r in pairwise_wilcoxon(errors):
                tables["wilcoxon"].append({"video": video, "angle": name, **r})
        for j, row3 in enumerate(first.angles_3d):
            row = {"video": video, "angle": row3["angle"]}
            for lab in cols:
                a = by_label[lab].angles_3d[j] if j < len(by_label[lab].angles_3d) else {}
                row[f"{lab}_rmse"], row[f"{lab}_sd"] = a.get("rmse", float("nan")), a.get("sd", float("nan"))
            row["delta_rmse"] = _delta([row[f"{m}_rmse"] for m in methods])
            row["delta_sd"] = _delta([row[f"{m}_sd"] for m in methods])
            tables.setdefault("angles_3d", []).append(row)
    if len(results) >= 2:
        tables["anova"] = []
        videos = list(results)
        common = [lab for lab in labels if all(lab in results[v] for v in videos)]
        names = results[videos[0]][common[0]].angle_names
        for j, name in enumerate(names):
            values = np.array([[results[v][lab].angles[j]["rmse"] for lab in common] for v in videos])
            a, f = rm_anova(values), friedman(values)
            tables["anova"].append({"angle": name, "methods": ",".join(common), "anova_F": a["F"], "anova_p": a["p"],
                                    "anova_note": a["note"], "friedman_chi2": f["statistic"], "friedman_p": f["p"],
                                    "friedman_note": f["note"], "videos": len(videos)})
    return tables


def write_evaluation_outputs(result: "EvaluationResult") -> dict[str, Path]:
    """evaluation.json, one CSV per table, plots per video and report.html into result.out_dir."""
    from anonymotion.report.html import write_report
    from anonymotion.report.plots import angle_rmse_bars, angle_traces, keypoint_error_bars
    from anonymotion.report.tables import write_dict_rows, write_json

    out = Path(result.out_dir)
    files: dict[str, Path] = {}
    for name, rows in result.tables.items():
        if rows:
            files[f"{name}_csv"] = write_dict_rows(out / f"{name}.csv", rows)
    plots: dict[str, list[tuple[str, Path]]] = {}
    for i, (video, by_label) in enumerate(result.results.items()):
        stem = f"{i + 1:02d}_{Path(video).stem}"
        labels = list(by_label)
        first = by_label[labels[0]]
        p1 = angle_rmse_bars(out / "plots" / f"{stem}_angle_rmse.png", first.angle_names,
                             {lab: np.array([a["rmse"] for a in by_label[lab].angles]) for lab in labels})
        p2 = keypoint_error_bars(out / "plots" / f"{stem}_keypoint_error.png", first.keypoint_names,
                                 {lab: np.array([k["epe_px"] for k in by_label[lab].keypoints]) for lab in labels},
                                 {lab: np.array([k["epe_sd_px"] for k in by_label[lab].keypoints]) for lab in labels})
        tracks = {"original": first.angles_orig, **{lab: by_label[lab].angles_anon for lab in labels}}
        p3 = angle_traces(out / "plots" / f"{stem}_angles.png", first.t, tracks, first.angle_names,
                          title=Path(video).name)
        plots[video] = [("angle RMSE per method", p1), ("keypoint EPE per method (mean ± SD)", p2),
                        ("joint angles over time", p3)]
    result.report_path = out / "report.html"
    files["html"] = write_report(result.report_path, result, plots)
    files["json"] = write_json(out / "evaluation.json", result.to_json())
    return files
