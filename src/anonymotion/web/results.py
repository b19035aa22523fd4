"""What the Test step shows: the comparison reduced to the numbers a clinician reads.

:func:`summarize` turns a :class:`anonymotion.evaluation.CompareResult` (anonymized vs
original), the control's (re-encoded original vs original) and the judge's verdict rows
(:func:`anonymotion.evaluation.judge.judge`, the one judge; nothing here decides a verdict)
into a JSON-safe dict (NaN -> None): the overall keypoint metrics (EPE px, PTK %, PCK) and,
per angle, its mean, SD and range in both videos, mean confidence, the differences (RMSE,
bias, SD, max, share within 5°), the control's RMSE and SD, the excess, the verdict, and the
frames it was judged on: ``n`` of ``frames`` (the matched frames), ``control_n`` for the
control. An angle judged on under half the frames, or whose mean confidence in the original
is below the keypoint threshold, is flagged ``low_confidence``. Hip, knee, ankle and elbow
of both sides are the headline angles (``headline: true``); the rest follow. All angles are
in degrees (2D, image plane). ``gait``: the gait cycles found in each video and, for the outcomes in :data:`SHOWN_OUTCOMES`,
the cycles paired, the Bland–Altman bias and 95 % limits of agreement, ICC(3,1) with its CI and
the verdict of :func:`anonymotion.evaluation.judge.judge_outcome` against the control.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: the angles gait labs read first, in display order; every other angle follows behind a fold
HEADLINE_ANGLES = ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
                   "left_elbow", "right_elbow")
#: an angle judged on less than this share of the frames is flagged low-confidence
MIN_SHARE = 0.5
#: gait outcomes shown in the page, in this order (outcomes.csv and report.html have them all)
SHOWN_OUTCOMES = ("cadence", "stride_time", "step_time", "stance", "hip_rom", "knee_rom", "ankle_rom", "elbow_rom")


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


def _row(name: str, result: Any, row: dict, judged: dict | None, frames: int) -> dict[str, Any]:
    names = list(result.angle_names)
    j = names.index(name) if name in names else None
    orig = _describe(result.angles_orig[:, j]) if j is not None and result.angles_orig is not None else {}
    anon = _describe(result.angles_anon[:, j]) if j is not None and result.angles_anon is not None else {}
    n = int(row.get("n") or 0)
    conf = row.get("conf_orig")
    low = frames > 0 and n < MIN_SHARE * frames or (conf is not None and math.isfinite(conf)
                                                     and conf < result.threshold)
    out = {
        "angle": name,
        "label": name.replace("_", " ").capitalize(),
        "headline": name in HEADLINE_ANGLES,
        "original": {**orig, "confidence": conf},
        "anonymized": {**anon, "confidence": row.get("conf_anon")},
        "difference": {k: row.get(k) for k in ("rmse", "bias", "sd", "max_abs", "within_5deg_pct")},
        "n": n,
        "frames": frames,
        "low_confidence": bool(low),
        "confidence_change_pct": row.get("conf_change_pct"),
    }
    if judged is not None:
        out.update(control={"rmse": judged["control_rmse"], "sd": judged["control_sd"]},
                   control_n=judged.get("control_n"), excess_rmse=judged["excess_rmse"],
                   sd_change=judged["sd_change"], verdict=judged["verdict"])
    return out


def summarize(result: Any, control: Any = None, verdicts: list[dict] | None = None) -> dict[str, Any]:
    """The Test step's numbers (see the module docstring). verdicts: the judge's rows, by angle."""
    from anonymotion.evaluation.judge import RULE

    rows = {r["angle"]: r for r in result.angles}
    judged = {v["angle"]: v for v in verdicts or []}
    frames = int(result.overall.get("frames") or len(result.t))
    order = [a for a in HEADLINE_ANGLES if a in rows] + [a for a in rows if a not in HEADLINE_ANGLES]
    angles = [_row(name, result, rows[name], judged.get(name), frames) for name in order]
    o = result.overall
    keep = ("epe_px", "epe_norm", "epe_sd_px", "epe_max_px", "ptk_pct", "pck_005", "pck_01", "frames",
            "keypoints_ref", "keypoints_test", "detection_rate_ref", "detection_rate_test", "confidence_ref",
            "confidence_test", "confidence_change_pct", "mpjpe_mm", "angle_rmse_mean")
    overall = {k: o.get(k) for k in keep if k in o}
    overall["lost_frames_ref"] = len(o.get("lost_frames_ref") or [])
    overall["lost_frames_test"] = len(o.get("lost_frames_test") or [])
    if control is not None:
        overall["control"] = {k: control.overall.get(k) for k in ("epe_px", "ptk_pct", "angle_rmse_mean")}
    return clean({"threshold": result.threshold, "overall": overall, "angles": angles, "rule": RULE,
                  "judged": bool(verdicts), "gait": gait_summary(result, control)})


def gait_summary(result: Any, control: Any = None) -> dict[str, Any]:
    """Cycles found and the judged agreement rows of :data:`SHOWN_OUTCOMES` (see module docstring)."""
    from anonymotion.evaluation.judge import judge_outcome

    g = getattr(result, "gait", None) or {}
    c_rows = {r["outcome"]: r for r in (control.gait.get("rows", []) if control is not None else [])}
    rows = []
    for r in g.get("rows", []):
        if r["outcome"] in SHOWN_OUTCOMES:
            j = judge_outcome(r, c_rows.get(r["outcome"]) if control is not None else None)
            rows.append({**j, "label": r["outcome"].replace("_", " ").replace("rom", "ROM").capitalize()})
    rows.sort(key=lambda r: SHOWN_OUTCOMES.index(r["outcome"]))
    return {"cycles_original": g.get("cycles_ref", 0), "cycles_anonymized": g.get("cycles_test", 0),
            "note": g.get("note_ref", ""), "rows": rows}
