"""Joint-angle agreement between a reference and a test track (pure numpy, degrees).

Per angle, over frames where the angle is defined in both tracks and its confidence is at
least ``min_conf`` in both: RMSE, mean bias (test − reference), SD of the difference
(ddof 1), max |difference|, share of frames within 5°, mean confidence in each track (over
frames where the person was found) and its relative change.
"""

from __future__ import annotations

import numpy as np

from anonymotion.kinematics.angles import angle_difference

ACCEPT_DEG = 5.0  # a joint angle is acceptable within 5° (Jiang et al. 2022)
SD_LIMIT_DEG = 1.27  # a change of SD below 5° / (1.96 · 2) ≈ 1.27° (as the study rounds it)


def angle_diffs(ref: np.ndarray, test: np.ndarray, ref_conf: np.ndarray, test_conf: np.ndarray,
                wraps: tuple[bool, ...], min_conf: float = 0.5) -> np.ndarray:
    """(T, A) per-frame differences test − reference in degrees; NaN where not comparable."""
    d = np.stack([angle_difference(ref[:, j], test[:, j], wraps[j]) for j in range(ref.shape[1])], axis=1) \
        if ref.shape[1] else np.zeros_like(ref)
    ok = np.isfinite(d) & (ref_conf >= min_conf) & (test_conf >= min_conf)
    return np.where(ok, d, np.nan)


def summarize_diff(d: np.ndarray) -> dict[str, float]:
    """Statistics of one angle's (T,) differences in degrees (NaN ignored)."""
    v = d[np.isfinite(d)]
    if v.size == 0:
        nan = float("nan")
        return {"n": 0, "rmse": nan, "bias": nan, "sd": nan, "max_abs": nan, "within_5deg_pct": nan}
    return {
        "n": int(v.size),
        "rmse": float(np.sqrt(np.mean(v ** 2))),
        "bias": float(np.mean(v)),
        "sd": float(np.std(v, ddof=1)) if v.size > 1 else 0.0,
        "max_abs": float(np.max(np.abs(v))),
        "within_5deg_pct": float(100.0 * np.mean(np.abs(v) <= ACCEPT_DEG)),
    }


def _mean_conf(conf: np.ndarray, present: np.ndarray) -> float:
    c = conf[present]
    return float(np.mean(c)) if c.size else float("nan")


def angle_stats(
    ref: np.ndarray, test: np.ndarray, ref_conf: np.ndarray, test_conf: np.ndarray,
    names: tuple[str, ...], wraps: tuple[bool, ...], *, ref_present: np.ndarray | None = None,
    test_present: np.ndarray | None = None, min_conf: float = 0.5,
) -> tuple[list[dict], np.ndarray]:
    """Per-angle rows (in ``names`` order) and the (T, A) per-frame difference array.

    ref/test: (T, A) degrees; *_conf: (T, A) in [0, 1]; *_present: (T,) frames with a person.
    """
    ref_present = np.ones(len(ref), bool) if ref_present is None else ref_present
    test_present = np.ones(len(test), bool) if test_present is None else test_present
    d = angle_diffs(ref, test, ref_conf, test_conf, wraps, min_conf)
    rows = []
    for j, name in enumerate(names):
        cr = _mean_conf(ref_conf[:, j], ref_present)
        ct = _mean_conf(test_conf[:, j], test_present)
        rows.append({
            "angle": name,
            **summarize_diff(d[:, j]),
            "conf_orig": cr,
            "conf_anon": ct,
            "conf_change_pct": 100.0 * (ct - cr) / cr if cr > 0 else float("nan"),
        })
    return rows, d
