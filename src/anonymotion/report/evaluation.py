"""The evaluation's output files: one CSV per table, plots per video, report.html, evaluation.json.

The tables themselves (and their verdicts) come from :mod:`anonymotion.evaluation.tables`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from anonymotion.evaluation import EvaluationResult

log = logging.getLogger(__name__)


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
