"""The evaluation's tables (methods as columns, a Δ column), verdicts from the one judge.

Tables (lists of dict rows), for each video:
- ``overall``: one row per method label: EPE (px, torso-normalised), PTK, PCK@0.05/0.1,
  detection rate, mean confidence and its change, mean angle RMSE, MPJPE (mm).
- ``keypoints``: one row per keypoint: ``<label>`` mean EPE (px) and ``<label>_2sd``
  (2 × SD, px) per method; ``delta`` = max − min of the mean EPE across the methods
  (the ``reencode`` control and ``+lossless`` variants excluded).
- ``angles``: one row per 2D angle: ``<label>_rmse`` and ``<label>_sd`` (°) per method;
  ``delta_rmse`` and ``delta_sd`` across the methods.
- ``verdicts``: one row per angle and method from :func:`anonymotion.evaluation.judge.judge_angle`
  (RMSE and SD against the control's, excess, n of frames judged, verdict).
- ``angles_3d``: the same for the 3D angles from world landmarks.
- ``wilcoxon``: paired signed-rank tests of per-frame |angle error| between labels.
With several videos, ``anova`` holds per angle the repeated-measures ANOVA and Friedman
test of angle RMSE across methods, videos as units.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from anonymotion.evaluation.judge import CONTROL, judge_angle
from anonymotion.metrics.stats import friedman, pairwise_wilcoxon, rm_anova

if TYPE_CHECKING:  # pragma: no cover
    from anonymotion.evaluation.compare import CompareResult

OVERALL_KEYS = ("epe_px", "epe_norm", "ptk_pct", "pck_005", "pck_01", "detection_rate_test", "confidence_test",
                "confidence_change_pct", "angle_rmse_mean", "mpjpe_mm", "body_altered_frame_count",
                "body_altered_max_pct", "epe_px_body_intact", "angle_rmse_mean_body_intact")


def _methods(labels: list[str]) -> list[str]:
    return [m for m in labels if m != CONTROL and not m.endswith("+lossless")]


def _delta(values: list[float]) -> float:
    v = [x for x in values if np.isfinite(x)]
    return float(max(v) - min(v)) if v else float("nan")


def verdict_rows(video: str, by_label: dict[str, "CompareResult"]) -> list[dict]:
    """The judge's verdict per 2D angle and non-control label, against the ``reencode`` control.

    Each row: video, angle, method, the judged figures of :func:`judge_angle` (rmse, control_rmse,
    excess_rmse, sd, control_sd, sd_change, n, control_n, verdict), frames (matched frames of the
    comparison: ``n`` of ``frames`` were judged) and within_5deg_pct.
    """
    control = by_label.get(CONTROL)
    rows: list[dict] = []
    for lab, result in by_label.items():
        if lab == CONTROL:
            continue
        for j, a in enumerate(result.angles):
            c = control.angles[j] if control is not None else None
            rows.append({"video": video, "angle": a["angle"], "method": lab, **judge_angle(a, c),
                         "frames": len(result.t), "within_5deg_pct": a["within_5deg_pct"]})
    return rows


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
        tables["verdicts"].extend(verdict_rows(video, by_label))
        for i, kp in enumerate(first.keypoint_names):
            row: dict = {"video": video, "keypoint": kp}
            for lab in cols:
                r = by_label[lab].keypoints[i]
                row[lab] = r["epe_px"]
                row[f"{lab}_2sd"] = 2 * r["epe_sd_px"]
            row["delta"] = _delta([row[m] for m in methods])
            tables["keypoints"].append(row)
        for j, name in enumerate(first.angle_names):
            row = {"video": video, "angle": name}
            for lab in cols:
                a = by_label[lab].angles[j]
                row[f"{lab}_rmse"], row[f"{lab}_sd"] = a["rmse"], a["sd"]
            row["delta_rmse"] = _delta([row[f"{m}_rmse"] for m in methods])
            row["delta_sd"] = _delta([row[f"{m}_sd"] for m in methods])
            tables["angles"].append(row)
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
