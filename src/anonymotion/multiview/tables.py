"""The multi-view study's tables (the gait study's Table 1 and Table 3), verdicts and statistics.

Input: comparisons[label] = one :class:`~anonymotion.multiview.compare.PersonComparison` per
reference person (same order for every label); label ``reencode`` is the control. Tables:

- ``mpjpe`` (Table 1): per person, one row per label with ``frames``, ``mpjpe_mm`` (mean over
  the COCO-17 joints), ``mpjpe_all_mm`` (mean over all keypoints, MediaPipe's face and hand
  landmarks included) and per keypoint ``<joint>_mean`` and ``<joint>_2sd`` (mm), then a ``Δ``
  row: max − min over the methods (control excluded) of every column.
- ``angles3d`` (Table 3): per person and 3D angle, ``<label>_rmse`` and ``<label>_sd`` (°) and
  ``delta_rmse`` / ``delta_sd`` across the methods (control excluded).
- ``verdicts``: per person, angle and method, the one judge's verdict against the control
  (:func:`anonymotion.evaluation.judge.judge_angle`), with the frames judged.
- ``stats``: with several persons/trials (units), per angle (and MPJPE) the repeated-measures
  ANOVA and Friedman test across labels; with one, per-frame paired Wilcoxon tests between
  labels (``test`` says which was used, ``note`` why).
"""

from __future__ import annotations

import numpy as np

from anonymotion.evaluation.judge import CONTROL, judge_angle
from anonymotion.metrics.stats import friedman, pairwise_wilcoxon, rm_anova
from anonymotion.multiview.compare import PersonComparison, joint_means, joint_sds

#: Joints shown in the report's Table 1 (the CSV has all keypoints).
TABLE1_JOINTS = ("nose", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
                 "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")

#: Frames a person needs in every run to count as a unit of the across-person statistics.
MIN_UNIT_FRAMES = 10


def _methods(labels: list[str]) -> list[str]:
    return [m for m in labels if m != CONTROL]


def _delta(values: list) -> float:
    """max − min over the methods; NaN with fewer than two (a Δ of one method would read as "no effect")."""
    v = [float(x) for x in values if x is not None and np.isfinite(x)]
    return float(max(v) - min(v)) if len(v) >= 2 else float("nan")


def _table1(comparisons: dict[str, list[PersonComparison]], labels: list[str], names: tuple[str, ...]) -> list[dict]:
    rows = []
    persons = [c.person for c in comparisons[labels[0]]]
    for i, person in enumerate(persons):
        block = []
        for lab in labels:
            c = comparisons[lab][i]
            mean, sd = joint_means(c.errors), joint_sds(c.errors)
            row = {"person": person, "method": lab, "match": c.match, "frames": c.frames, "mpjpe_mm": c.mpjpe,
                   "mpjpe_all_mm": c.mpjpe_over(None)}
            for k, name in enumerate(names):
                row[f"{name}_mean"], row[f"{name}_2sd"] = float(mean[k]), float(2 * sd[k])
            block.append(row)
        delta = {"person": person, "method": "Δ", "match": None, "frames": None}
        methods = [r for r in block if r["method"] != CONTROL]
        for key in [k for k in block[0] if k.endswith(("_mean", "_2sd")) or k.startswith("mpjpe")]:
            delta[key] = _delta([r[key] for r in methods])
        rows += block + [delta]
    return rows


def _table3_and_verdicts(comparisons: dict[str, list[PersonComparison]], labels: list[str]
                         ) -> tuple[list[dict], list[dict]]:
    angles, verdicts = [], []
    methods = _methods(labels)
    for i, first in enumerate(comparisons[labels[0]]):
        for j, name in enumerate(first.angle_names):
            row = {"person": first.person, "angle": name}
            for lab in labels:
                a = comparisons[lab][i].angle_rows[j]
                row[f"{lab}_rmse"], row[f"{lab}_sd"] = a["rmse"], a["sd"]
            row["delta_rmse"] = _delta([row[f"{m}_rmse"] for m in methods])
            row["delta_sd"] = _delta([row[f"{m}_sd"] for m in methods])
            angles.append(row)
            control = comparisons[CONTROL][i].angle_rows[j] if CONTROL in comparisons else None
            for lab in methods:
                a = comparisons[lab][i].angle_rows[j]
                verdicts.append({"person": first.person, "angle": name, "method": lab, **judge_angle(a, control),
                                 "within_5deg_pct": a["within_5deg_pct"]})
    return angles, verdicts


def units(comparisons: dict[str, list[PersonComparison]], labels: list[str]) -> list[int]:
    """Indices of the reference persons matched in every run over at least MIN_UNIT_FRAMES frames."""
    n = len(comparisons[labels[0]])
    return [i for i in range(n) if all(comparisons[lab][i].frames >= MIN_UNIT_FRAMES for lab in labels)]


def _stats(comparisons: dict[str, list[PersonComparison]], labels: list[str]) -> list[dict]:
    used = units(comparisons, labels)
    rows: list[dict] = []
    if not used:
        return [{"test": "none", "note": "no person was triangulated in every run: no statistics"}]
    first = comparisons[labels[0]][used[0]]
    if len(used) >= 2:
        note = f"units: {len(used)} persons/trials ({', '.join(comparisons[labels[0]][i].person for i in used)})"
        series = [("MPJPE (mm)", lambda c, j: c.mpjpe, None)]
        series += [(name, lambda c, j: c.angle_rows[j]["rmse"], j) for j, name in enumerate(first.angle_names)]
        for name, value, j in series:
            values = np.array([[value(comparisons[lab][i], j) for lab in labels] for i in used], np.float64)
            a, f = rm_anova(values), friedman(values)
            rows.append({"test": "rm-anova", "measure": name if j is None else f"{name} RMSE (°)",
                         "labels": ",".join(labels), "units": len(used), "anova_F": a["F"], "anova_p": a["p"],
                         "friedman_chi2": f["statistic"], "friedman_p": f["p"],
                         "note": "; ".join(x for x in (note, str(a["note"]), str(f["note"])) if x)})
        return rows
    i = used[0]
    total = len(comparisons[labels[0]])
    note = (f"one person/trial only ({first.person}"
            + (f"; {total - 1} other person(s) of the original not triangulated in every run" if total > 1 else "")
            + "): per-frame paired Wilcoxon signed-rank tests of |angle difference| between labels are used "
              "instead of a repeated-measures ANOVA")
    for j, name in enumerate(first.angle_names):
        errors = {lab: np.abs(comparisons[lab][i].diff[:, j]) for lab in labels}
        for r in pairwise_wilcoxon(errors):
            rows.append({"test": "wilcoxon", "person": first.person, "measure": f"{name} |diff| (°)", **r,
                         "note": "; ".join(x for x in (note, str(r.get("note") or "")) if x)})
    errs = {lab: np.nanmean(comparisons[lab][i].errors, axis=1) for lab in labels}
    for r in pairwise_wilcoxon(errs):
        rows.append({"test": "wilcoxon", "person": first.person, "measure": "per-frame MPJPE (mm)", **r,
                     "note": "; ".join(x for x in (note, str(r.get("note") or "")) if x)})
    return rows


def build_multiview_tables(comparisons: dict[str, list[PersonComparison]], labels: list[str],
                           names: tuple[str, ...]) -> dict[str, list[dict]]:
    """Every table of the module docstring; ``labels`` starts with the control."""
    angles, verdicts = _table3_and_verdicts(comparisons, labels)
    return {"mpjpe": _table1(comparisons, labels, names), "angles3d": angles, "verdicts": verdicts,
            "stats": _stats(comparisons, labels)}
