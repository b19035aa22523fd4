"""Sections of ``report.html`` for the multi-view study (Table 1, Table 3, verdicts, statistics).

Rendered by :func:`anonymotion.report.html.render` when the evaluation's tables come from
:mod:`anonymotion.multiview.tables` (they hold ``mpjpe``).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

from anonymotion.evaluation.judge import RULE

if TYPE_CHECKING:  # pragma: no cover
    from anonymotion.evaluation import EvaluationResult


def intro(result: "EvaluationResult") -> str:
    return ("<p class='note'>Multi-view study: every view was anonymized with each method and with the "
            "<b>reencode</b> control, each set of views was triangulated with the same calibration (confidence-"
            "weighted DLT, views above the reprojection limit dropped), and each method's 3D persons are compared "
            "with the triangulation of the <b>original</b> views: MPJPE per joint (mean μ and 2σ, mm; the MPJPE column "
            "averages the COCO-17 joints, the next one all 33 MediaPipe keypoints) and the gait "
            "study's 3D joint angles (RMSE and SD of the per-frame difference, degrees). Δ = max − min over the "
            f"methods (control excluded). Verdicts {html.escape(RULE)}.</p>")


def sections(result: "EvaluationResult", plots: dict[str, list[tuple[str, Path]]]) -> list[str]:
    """HTML blocks, one group per person of the original triangulation."""
    from anonymotion.report.html import _img, _table
    from anonymotion.multiview.tables import TABLE1_JOINTS

    t = result.tables
    labels = result.methods
    parts: list[str] = []
    persons = list(dict.fromkeys(r["person"] for r in t["mpjpe"]))
    if not persons:
        parts.append("<p><b>No person was triangulated in the original views</b> (nobody seen by two cameras at "
                     "once): there is nothing to compare.</p>")
    ctl = lambda r: "control" if r.get("method") == "reencode" else ""  # noqa: E731
    for person in persons:
        parts.append(f"<h2>{html.escape(person)}</h2>")
        rows = [r for r in t["mpjpe"] if r["person"] == person]
        lost = [r["method"] for r in rows if r["method"] != "Δ" and not r.get("frames")]
        if lost:
            parts.append(f"<p><b>{html.escape(person)} was not found in the triangulation of: "
                         f"{html.escape(', '.join(lost))}</b> (pose lost in the anonymized views; its angles fail).</p>")
        cols = [("method", "method"), ("match", "matched as"), ("frames", "frames"), ("mpjpe_mm", "MPJPE mm (COCO-17)"),
                ("mpjpe_all_mm", "MPJPE mm (all 33)")]
        for j in TABLE1_JOINTS:
            cols += [(f"{j}_mean", f"{j.replace('_', ' ')} μ"), (f"{j}_2sd", "2σ")]
        parts.append("<h3>Table 1: MPJPE per joint against the original triangulation (mm; all 33 keypoints in "
                     "mpjpe.csv)</h3>")
        parts.append(_table(rows, cols, row_class=ctl, digits=1))
        rows3 = [r for r in t["angles3d"] if r["person"] == person]
        cols3 = [("angle", "angle")]
        for lab in labels:
            cols3 += [(f"{lab}_rmse", f"{lab} RMSE °"), (f"{lab}_sd", f"({lab} SD °)")]
        cols3 += [("delta_rmse", "Δ(RMSE)"), ("delta_sd", "Δ(SD)")]
        parts.append("<h3>Table 3: 3D joint angles, RMSE (SD) of the difference to the original (degrees)</h3>")
        parts.append(_table(rows3, cols3))
        parts.append("<h3>Verdict per 3D angle (against the reencode control)</h3>")
        parts.append(_table([r for r in t["verdicts"] if r["person"] == person], [
            ("angle", "angle"), ("method", "method"), ("n", "frames"), ("control_n", "control frames"),
            ("rmse", "RMSE °"), ("control_rmse", "control RMSE °"), ("excess_rmse", "excess °"), ("sd", "SD °"),
            ("control_sd", "control SD °"), ("sd_change", "ΔSD °"), ("within_5deg_pct", "within 5° %"),
            ("verdict", "verdict")]))
        for title, path in plots.get(person, []):
            parts.append(_img(path, title))
    stats = t.get("stats", [])
    if stats:
        kind = stats[0].get("test")
        parts.append("<h2>Statistics</h2>")
        if kind == "rm-anova":
            parts.append(f"<p>Repeated-measures ANOVA and Friedman test across {html.escape(stats[0]['labels'])}, "
                         f"{stats[0]['units']} persons/trials as units.</p>")
            parts.append(_table(stats, [("measure", "measure"), ("units", "units"), ("anova_F", "F"),
                                        ("anova_p", "p (ANOVA)"), ("friedman_chi2", "χ²"), ("friedman_p", "p (Friedman)"),
                                        ("note", "note")], digits=4))
        elif kind == "wilcoxon":
            parts.append("<p><b>Only one person/trial was triangulated in every run, so no repeated-measures ANOVA "
                         "is possible; per-frame paired Wilcoxon signed-rank tests between labels are used "
                         "instead.</b></p>")
            parts.append(_table(stats, [("measure", "measure"), ("a", "a"), ("b", "b"), ("n", "frames"),
                                        ("median_diff", "median diff (b − a)"), ("statistic", "W"), ("p", "p")],
                                digits=4))
        else:
            parts.append(f"<p>{html.escape(str(stats[0].get('note', '')))}</p>")
    return parts
