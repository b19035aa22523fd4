"""Output files of the multi-view study: one CSV per table, plots per person, evaluation.json, report.html."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from anonymotion.evaluation.study import EvaluationResult
from anonymotion.multiview.compare import PersonComparison, joint_means, joint_sds
from anonymotion.multiview.results import MultiviewResult


def write_multiview_report(result: EvaluationResult, comparisons: dict[str, list[PersonComparison]],
                           ref: MultiviewResult) -> dict[str, Path]:
    """Write the study's files into ``result.out_dir`` (sets ``result.report_path``); returns name -> path."""
    from anonymotion.report.html import write_report
    from anonymotion.report.plots import angle_rmse_bars, angle_traces, keypoint_error_bars
    from anonymotion.report.tables import write_dict_rows, write_json

    out = Path(result.out_dir)
    files: dict[str, Path] = {}
    for name, rows in result.tables.items():
        if rows:
            files[f"{name}_csv"] = write_dict_rows(out / f"{name}.csv", rows)
    labels = result.methods
    plots: dict[str, list[tuple[str, Path]]] = {}
    for i, person in enumerate(ref.persons):
        by_label = {lab: comparisons[lab][i] for lab in labels}
        first = by_label[labels[0]]
        if not any(c.frames for c in by_label.values()):
            continue
        p1 = keypoint_error_bars(out / "plots" / f"{person.id}_mpjpe.png", ref.names,
                                 {lab: joint_means(c.errors) for lab, c in by_label.items()},
                                 {lab: joint_sds(c.errors) for lab, c in by_label.items()}, ylabel="MPJPE (mm)")
        p2 = angle_rmse_bars(out / "plots" / f"{person.id}_angle_rmse.png", first.angle_names,
                             {lab: np.array([a["rmse"] for a in c.angle_rows]) for lab, c in by_label.items()})
        tracks = {"original": first.angles_ref, **{lab: c.angles_test for lab, c in by_label.items()}}
        p3 = angle_traces(out / "plots" / f"{person.id}_angles3d.png", first.t, tracks, first.angle_names,
                          title=f"{person.id}: 3D angles (triangulated)")
        plots[person.id] = [("MPJPE per joint and method (mean ± SD, mm)", p1),
                            ("3D angle RMSE per method", p2), ("3D joint angles over time", p3)]
    result.report_path = out / "report.html"
    files["html"] = write_report(result.report_path, result, plots)
    files["json"] = write_json(out / "evaluation.json", {
        **result.to_json(), "persons": [p.id for p in ref.persons],
        "matches": {lab: {c.person: c.match for c in cs} for lab, cs in comparisons.items()},
    })
    return files
