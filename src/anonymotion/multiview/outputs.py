"""Files of a multi-view run (``anonymotion triangulate``), each written atomically.

Per person ``<id>`` (person1 = the person with the most triangulated keypoints):
- ``<id>.trc``: OpenSim/Pose2Sim marker trajectories, metres, Y up (see :mod:`anonymotion.io.trc`).
- ``<id>.points3d.csv``: frame, time, keypoint, x_mm, y_mm, z_mm (world, as calibrated),
  error_px (mean reprojection error over the views used), views (views used; 0 = not triangulated).
- ``<id>.angles3d.csv``: frame, time, then the gait study's 3D angles in degrees
  (:data:`anonymotion.kinematics.angles3d.ANGLE_NAMES_3D`), empty where undefined.
- ``<id>.png``: the 3D skeleton at a few frames and the angle traces.
Shared: ``reprojection.csv`` (person, camera, keypoint, frames_used, median_px, p95_px,
views_mean, not_used; camera/keypoint ``all`` rows summarise) and ``summary.json``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from anonymotion.io.trc import write_trc
from anonymotion.kinematics.angles3d import angles_3d
from anonymotion.multiview.results import (
    MultiviewResult, Person3D, coefficient_of_variation, reprojection_table, segment_lengths,
)
from anonymotion.report.tables import write_csv

REPROJECTION_COLUMNS = ("person", "camera", "keypoint", "frames_used", "median_px", "p95_px", "views_mean", "not_used")


def person_angles(result: MultiviewResult, person: Person3D) -> tuple[np.ndarray, tuple[str, ...]]:
    """The 3D angles (T, A) in degrees of one triangulated person, in the calibration's vertical."""
    return angles_3d(person.points, result.names, up=result.up)


def summary_error(person: Person3D) -> float | None:
    """Median reprojection error (px) over every view used for every point of ``person`` (None: no point)."""
    err = person.error[person.used]
    return float(np.median(err)) if err.size else None


def summary(result: MultiviewResult) -> dict:
    """JSON-friendly overview: frames, views present, and per person frames, median error, segment CVs."""
    persons = []
    for p in result.persons:
        persons.append({
            "id": p.id,
            "frames": int(p.present.sum()),
            "keypoints_triangulated": int(np.isfinite(p.points).all(-1).sum()),
            "median_reprojection_px": summary_error(p),
            "views_mean": float(p.views[p.views > 0].mean()) if (p.views > 0).any() else None,
            "centre_mm": [round(float(v), 1) for v in np.nanmedian(p.points[p.present], axis=(0, 1))]
            if p.present.any() else None,
            "segment_cv": {k: _num(coefficient_of_variation(v)) for k, v in segment_lengths(p.points, result.names).items()},
            "segment_median_mm": {k: _num(np.nanmedian(v)) if np.isfinite(v).any() else None
                                  for k, v in segment_lengths(p.points, result.names).items()},
        })
    return {
        "frames": int(len(result.t)),
        "cameras": list(result.cameras),
        "videos": [str(v) for v in result.videos],
        "view_frames": {c: int(result.view_present[:, i].sum()) for i, c in enumerate(result.cameras)},
        "units": {"points": "mm (world of the calibration)", "trc": "m, Y up", "error": "px"},
        "persons": persons,
    }


def _num(v: float) -> float | None:
    return None if v is None or not np.isfinite(v) else round(float(v), 4)


def write_multiview_outputs(result: MultiviewResult, out_dir: str | os.PathLike, *, plots: bool = True) -> dict[str, Path]:
    """Write every file listed in the module docstring into ``out_dir``; returns name -> path."""
    from anonymotion.io.writer import write_text_atomic

    out = Path(out_dir)
    files: dict[str, Path] = {}
    rows = []
    for p in result.persons:
        files[f"{p.id}.trc"] = write_trc(out / f"{p.id}.trc", p.points, result.t, result.names, up=result.up)
        files[f"{p.id}.points3d.csv"] = write_csv(out / f"{p.id}.points3d.csv", _POINT_COLUMNS,
                                                  _point_rows(result, p), digits=2)
        ang, names = person_angles(result, p)
        files[f"{p.id}.angles3d.csv"] = write_csv(
            out / f"{p.id}.angles3d.csv", ["frame", "time", *names],
            ([i, float(result.t[i]), *ang[i]] for i in range(len(result.t))), digits=3)
        if plots:
            from anonymotion.multiview.plots import person_figure

            files[f"{p.id}.png"] = person_figure(out / f"{p.id}.png", result, p, ang, names)
        rows += reprojection_table(result, p)
    files["reprojection.csv"] = write_csv(out / "reprojection.csv", REPROJECTION_COLUMNS,
                                          ([r[c] for c in REPROJECTION_COLUMNS] for r in rows), digits=2)
    files["summary.json"] = write_text_atomic(out / "summary.json", json.dumps(summary(result), indent=2) + "\n")
    return files


_POINT_COLUMNS = ("frame", "time", "keypoint", "x_mm", "y_mm", "z_mm", "error_px", "views")


def _point_rows(result: MultiviewResult, p: Person3D):
    err = p.mean_error
    views = p.views
    for i, t in enumerate(result.t):
        for k, name in enumerate(result.names):
            x, y, z = p.points[i, k]
            yield i, float(t), name, x, y, z, err[i, k], int(views[i, k])
