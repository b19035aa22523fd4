"""The one judge: is a method's effect on a joint angle within the limits, beyond the control's?

Every surface (CLI ``evaluate``, ``batch --evaluate``, the web Test step, the multi-view
study) calls :func:`judge_angle` / :func:`judge`; nothing else decides a verdict.

Rule (Jiang et al. 2022, judged by excess over the re-encode control, which carries what
encoding alone does to the pose): a method's angle is

- ``"ok"``   when its RMSE exceeds the control's by at most 5° and its SD of the per-frame
  difference exceeds the control's by at most 1.27°;
- ``"sd"``   when only the SD limit is exceeded;
- ``"fail"`` when the RMSE excess is over 5°, or when the angle was measured on the control
  but never on the method's video (the pose detector lost the person);
- ``"n/a"``  when neither video yields the angle.

A method is never penalised for beating the control: an RMSE or SD *below* the control's is
within limits (the change of SD is signed, method − control).
"""

from __future__ import annotations

import math
from typing import Any

from anonymotion.metrics.angles import ACCEPT_DEG, SD_LIMIT_DEG
from anonymotion.methods.registry import CONTROL

__all__ = ["CONTROL", "ACCEPT_DEG", "SD_LIMIT_DEG", "RULE", "verdict", "judge_angle", "judge"]

RULE = (f"judged by the excess over the re-encode control: RMSE excess ≤ {ACCEPT_DEG:g}° and SD increase "
        f"≤ {SD_LIMIT_DEG:g}° (lower than the control is never penalised); an angle the control measures but "
        "the method's video never yields fails")


def _finite(v: Any) -> bool:
    return v is not None and isinstance(v, (int, float)) and math.isfinite(v)


def verdict(rmse_excess: float, sd_change: float, *, lost: bool = False) -> str:
    """Verdict from the RMSE excess and the signed SD change over the control (degrees)."""
    if not (_finite(rmse_excess) and _finite(sd_change)):
        return "fail" if lost else "n/a"
    if rmse_excess > ACCEPT_DEG:
        return "fail"
    if sd_change > SD_LIMIT_DEG:
        return "sd"
    return "ok"


def judge_angle(row: dict, control: dict | None) -> dict[str, Any]:
    """Judge one angle row of a comparison (keys rmse, sd, n) against the control's row.

    Without a control the method is judged against zero (excess = its RMSE). Returns the
    judged figures: rmse, control_rmse, excess_rmse, sd, control_sd, sd_change (signed),
    n, control_n and verdict.
    """
    c = control if control is not None else {"rmse": 0.0, "sd": 0.0, "n": None}
    rmse, sd = row.get("rmse"), row.get("sd")
    c_rmse, c_sd = c.get("rmse"), c.get("sd")
    excess = float(rmse) - float(c_rmse) if _finite(rmse) and _finite(c_rmse) else float("nan")
    sd_change = float(sd) - float(c_sd) if _finite(sd) and _finite(c_sd) else float("nan")
    lost = not _finite(rmse) and _finite(c_rmse)
    return {"rmse": rmse, "control_rmse": c_rmse, "excess_rmse": excess, "sd": sd, "control_sd": c_sd,
            "sd_change": sd_change, "n": row.get("n"), "control_n": c.get("n"),
            "verdict": verdict(excess, sd_change, lost=lost)}


def judge(rows: list[dict], control_rows: list[dict] | None, key: str = "angle") -> list[dict[str, Any]]:
    """Judge every angle row (matched to the control's by ``key``); one dict per row, in order."""
    by_name = {r[key]: r for r in control_rows} if control_rows is not None else None
    out = []
    for r in rows:
        c = by_name.get(r[key]) if by_name is not None else None
        if by_name is not None and c is None:
            c = {"rmse": float("nan"), "sd": float("nan"), "n": 0}
        out.append({key: r[key], **judge_angle(r, c), "within_5deg_pct": r.get("within_5deg_pct")})
    return out
