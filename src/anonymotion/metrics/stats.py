"""Significance tests between anonymization methods.

- One video: paired Wilcoxon signed-rank test of per-frame absolute angle errors between
  two methods (frames where both are defined are the pairs).
- Several videos: repeated-measures one-way ANOVA and the Friedman test across methods,
  with videos as the units and one value (e.g. angle RMSE) per video and method.
Tests that cannot be computed (too few pairs, all differences zero) give p = NaN with a
reason instead of raising.
"""

from __future__ import annotations

import itertools
import logging

import numpy as np

log = logging.getLogger(__name__)


def wilcoxon_paired(a: np.ndarray, b: np.ndarray) -> dict[str, float | int | str]:
    """Wilcoxon signed-rank test of paired samples a, b (T,); NaN pairs dropped.

    Returns {"n", "statistic", "p", "median_diff" (b − a), "note"}.
    """
    from scipy.stats import wilcoxon

    ok = np.isfinite(a) & np.isfinite(b)
    x, y = np.asarray(a, np.float64)[ok], np.asarray(b, np.float64)[ok]
    out: dict[str, float | int | str] = {"n": int(ok.sum()), "statistic": float("nan"), "p": float("nan"),
                                         "median_diff": float(np.median(y - x)) if ok.any() else float("nan"),
                                         "note": ""}
    if ok.sum() < 6:
        out["note"] = "too few frames"
        return out
    if np.all(x == y):
        out["note"] = "identical"
        out["p"] = 1.0
        return out
    res = wilcoxon(x, y, zero_method="wilcox")
    out["statistic"], out["p"] = float(res.statistic), float(res.pvalue)
    return out


def pairwise_wilcoxon(errors: dict[str, np.ndarray]) -> list[dict]:
    """Wilcoxon for every pair of methods: errors[method] is (T,) |angle error| per frame."""
    rows = []
    for m1, m2 in itertools.combinations(errors, 2):
        rows.append({"a": m1, "b": m2, **wilcoxon_paired(errors[m1], errors[m2])})
    return rows


def rm_anova(values: np.ndarray) -> dict[str, float | str]:
    """One-way repeated-measures ANOVA: values (n_units, k_conditions), rows with NaN dropped.

    Returns {"F", "p", "df1", "df2", "n", "note"}.
    """
    from scipy.stats import f as f_dist

    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v).all(axis=1)]
    n, k = v.shape if v.ndim == 2 else (0, 0)
    out: dict[str, float | str] = {"F": float("nan"), "p": float("nan"), "df1": float(k - 1),
                                   "df2": float((n - 1) * (k - 1)), "n": float(n), "note": ""}
    if n < 2 or k < 2:
        out["note"] = "needs at least 2 videos and 2 methods"
        return out
    grand = v.mean()
    ss_cond = n * np.sum((v.mean(axis=0) - grand) ** 2)
    ss_subj = k * np.sum((v.mean(axis=1) - grand) ** 2)
    ss_err = np.sum((v - grand) ** 2) - ss_cond - ss_subj
    df1, df2 = k - 1, (n - 1) * (k - 1)
    if ss_err <= 1e-12 * max(1.0, ss_cond):
        out["note"] = "no residual variance"
        return out
    f_val = (ss_cond / df1) / (ss_err / df2)
    out["F"], out["p"] = float(f_val), float(f_dist.sf(f_val, df1, df2))
    return out


def friedman(values: np.ndarray) -> dict[str, float | str]:
    """Friedman test: values (n_units, k_conditions ≥ 3), rows with NaN dropped."""
    from scipy.stats import friedmanchisquare

    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v).all(axis=1)]
    n, k = v.shape if v.ndim == 2 else (0, 0)
    out: dict[str, float | str] = {"statistic": float("nan"), "p": float("nan"), "n": float(n), "note": ""}
    if n < 2 or k < 3:
        out["note"] = "needs at least 2 videos and 3 methods"
        return out
    if np.all(v == v[:, :1]):
        out["note"] = "identical"
        return out
    res = friedmanchisquare(*[v[:, j] for j in range(k)])
    out["statistic"], out["p"] = float(res.statistic), float(res.pvalue)
    return out
