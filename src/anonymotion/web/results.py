"""What the Test step shows: the comparison reduced to the numbers a clinician reads.

:func:`summarize` turns an :class:`anonymotion.evaluation.CompareResult` (anonymized vs
original) and, optionally, the one of a re-encode control (re-encoded original vs original)
into a JSON-safe dict (NaN -> None): the overall keypoint metrics (EPE px, PTK %, PCK) and,
for the left and right knee and elbow, the angle's mean, SD and range in the original and
the anonymized video, the mean confidence in each, the differences (RMSE, bias, SD, max,
share of frames within 5°), the control's RMSE and SD, the excess over the control and the
verdict of :func:`anonymotion.metrics.angles.verdict` ("ok", "sd", "fail", "n/a"). All
angles are in degrees (2D, image plane; 0° = straight limb).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: angles shown in the page, in this order
SHOWN_ANGLES = ("left_knee", "right_knee", "left_elbow", "right_elbow")
ACCEPT_DEG = 5.0


def clean(value: Any) -> Any:
    """A JSON-safe copy: numpy scalars to Python, NaN/inf to None, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return clean(value.tolist())
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return value


def _describe(series: np.ndarray) -> dict[str, float | None]:
    """Mean, SD (ddof 1), min and max of a (T,) angle series in degrees, NaN ignored."""
    v = series[np.isfinite(series)]
    if v.size == 0:
        return {"mean": None, "sd": None, "min": None, "max": None}
    return {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if v.size > 1 else 0.0,
            "min": float(v.min()), "max": float(v.max())}


def summarize(result: Any, control: Any = None) -> dict[str, Any]:
    """The Test step's numbers from a CompareResult and its control (see module docstring)."""
    from anonymotion.evaluation.judge import judge_angle

    names = list(result.angle_names)
    rows = {r["angle"]: r for r in result.angles}
    control_rows = {r["angle"]: r for r in control.angles} if control is not None else {}
    angles = []
    for name in SHOWN_ANGLES:
        if name not in rows:
            continue
        j = names.index(name) if name in names else None
        row = rows[name]
        orig = _describe(result.angles_orig[:, j]) if j is not None and result.angles_orig is not None else {}
        anon = _describe(result.angles_anon[:, j]) if j is not None and result.angles_anon is not None else {}
        rmse = row.get("rmse")
        c = control_rows.get(name)
        judged: dict[str, Any] = {}
        if c is not None:
            j = judge_angle(row, c)
            judged = {"control": {"rmse": c["rmse"], "sd": c["sd"]}, "excess_rmse": j["excess_rmse"],
                      "sd_change": j["sd_change"], "verdict": j["verdict"]}
        angles.append({
            "angle": name,
            "label": name.replace("_", " ").capitalize(),
            "original": {**orig, "confidence": row.get("conf_orig")},
            "anonymized": {**anon, "confidence": row.get("conf_anon")},
            "difference": {k: row.get(k) for k in ("rmse", "bias", "sd", "max_abs", "within_5deg_pct", "n")},
            "confidence_change_pct": row.get("conf_change_pct"),
            "acceptable": None if rmse is None or not math.isfinite(rmse) else bool(rmse <= ACCEPT_DEG),
            **judged,
        })
    o = result.overall
    keep = ("epe_px", "epe_norm", "epe_sd_px", "epe_max_px", "ptk_pct", "pck_005", "pck_01", "frames",
            "keypoints_ref", "keypoints_test", "detection_rate_ref", "detection_rate_test", "confidence_ref",
            "confidence_test", "confidence_change_pct", "mpjpe_mm", "angle_rmse_mean")
    overall = {k: o.get(k) for k in keep if k in o}
    overall["lost_frames_ref"] = len(o.get("lost_frames_ref") or [])
    overall["lost_frames_test"] = len(o.get("lost_frames_test") or [])
    if control is not None:
        overall["control"] = {k: control.overall.get(k) for k in ("epe_px", "ptk_pct", "angle_rmse_mean")}
    return clean({"threshold": result.threshold, "overall": overall, "angles": angles,
                  "all_angles": [{k: v for k, v in r.items()} for r in result.angles]})
