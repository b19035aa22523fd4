"""Agreement between two measurement methods: Bland–Altman and ICC(3,1).

Used to judge clinical outcomes (cadence, stride time, ROM ...) measured on the anonymized
video against the same outcomes measured on the original.

- Bland–Altman (Bland & Altman, Lancet 1986): differences d = b − a over n pairs; bias =
  mean(d), SD = sample SD of d (ddof 1), 95 % limits of agreement = bias ± 1.96 SD.
- ICC(3,1) (Shrout & Fleiss, Psychol Bull 1979, case 3, single measure; McGraw & Wong's
  "two-way mixed, consistency, single"): from the two-way ANOVA of an (n targets × k raters)
  table, ICC = (BMS − EMS) / (BMS + (k − 1) EMS), with the exact 95 % CI of Shrout & Fleiss
  via the F distribution: F0 = BMS/EMS, FL = F0 / F(1−α/2; n−1, (n−1)(k−1)),
  FU = F0 · F(1−α/2; (n−1)(k−1), n−1), CI = ((FL − 1)/(FL + k − 1), (FU − 1)/(FU + k − 1)).

Everything is plain numpy (scipy.stats.f for the quantiles); pairs with a NaN are dropped.
Statistics that cannot be computed (too few pairs, no variance) are NaN with a ``note``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

#: z for 95 % limits of agreement, as Bland & Altman use it.
LOA_Z = 1.96


@dataclass(frozen=True)
class BlandAltman:
    """Bland–Altman statistics of b − a (units of the measurement).

    n: pairs used. bias: mean difference. sd: SD of the differences (ddof 1; NaN for n < 2).
    loa_low / loa_high: bias ∓ 1.96 SD (equal to bias when n == 1).
    """

    n: int
    bias: float
    sd: float
    loa_low: float
    loa_high: float
    note: str = ""

    @property
    def worst(self) -> float:
        """Largest absolute limit of agreement (|diff| itself for one pair); NaN without pairs."""
        if self.n == 0:
            return float("nan")
        return float(max(abs(self.loa_low), abs(self.loa_high)))

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ICC:
    """ICC(3,1) with its confidence interval.

    value: the coefficient; low / high: the (1 − alpha) CI; F: BMS/EMS with df1, df2;
    n targets, k raters. NaN with a note when it cannot be computed.
    """

    value: float
    low: float
    high: float
    F: float
    df1: int
    df2: int
    n: int
    k: int
    note: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def _pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired measurements need equal lengths, got {a.size} and {b.size}")
    ok = np.isfinite(a) & np.isfinite(b)
    return a[ok], b[ok]


def bland_altman(a: np.ndarray, b: np.ndarray, z: float = LOA_Z) -> BlandAltman:
    """Bland–Altman of b − a for paired measurements a, b (n,); NaN pairs dropped."""
    x, y = _pairs(a, b)
    n = int(x.size)
    nan = float("nan")
    if n == 0:
        return BlandAltman(0, nan, nan, nan, nan, "no pairs")
    d = y - x
    bias = float(d.mean())
    if n == 1:
        return BlandAltman(1, bias, nan, bias, bias, "one pair: limits are the difference itself")
    sd = float(d.std(ddof=1))
    return BlandAltman(n, bias, sd, bias - z * sd, bias + z * sd)


def icc_3_1(ratings: np.ndarray, alpha: float = 0.05) -> ICC:
    """ICC(3,1) of an (n targets, k raters) table; rows with a NaN are dropped.

    Perfect agreement (no residual variance while targets differ) gives 1 with CI [1, 1];
    no variance at all between targets gives NaN.
    """
    from scipy.stats import f as f_dist

    r = np.asarray(ratings, np.float64)
    if r.ndim != 2:
        raise ValueError(f"ratings must be (targets, raters), got shape {r.shape}")
    r = r[np.isfinite(r).all(axis=1)]
    n, k = r.shape
    nan = float("nan")
    df1, df2 = n - 1, (n - 1) * (k - 1)
    if n < 2 or k < 2:
        return ICC(nan, nan, nan, nan, max(df1, 0), max(df2, 0), n, k, "needs at least 2 targets and 2 raters")
    grand = r.mean()
    ss_rows = k * np.sum((r.mean(axis=1) - grand) ** 2)
    ss_cols = n * np.sum((r.mean(axis=0) - grand) ** 2)
    ss_err = max(float(np.sum((r - grand) ** 2) - ss_rows - ss_cols), 0.0)
    bms = ss_rows / df1
    ems = ss_err / df2
    scale = max(1.0, float(np.abs(r).max()) ** 2)
    if bms <= 1e-12 * scale:
        return ICC(nan, nan, nan, nan, df1, df2, n, k, "no variance between targets")
    if ems <= 1e-12 * scale:
        return ICC(1.0, 1.0, 1.0, float("inf"), df1, df2, n, k, "no residual variance (perfect consistency)")
    value = (bms - ems) / (bms + (k - 1) * ems)
    f0 = bms / ems
    fl = f0 / f_dist.ppf(1 - alpha / 2, df1, df2)
    fu = f0 * f_dist.ppf(1 - alpha / 2, df2, df1)
    low = (fl - 1) / (fl + k - 1)
    high = (fu - 1) / (fu + k - 1)
    return ICC(float(value), float(low), float(high), float(f0), df1, df2, n, k)


def icc_pairs(a: np.ndarray, b: np.ndarray, alpha: float = 0.05) -> ICC:
    """ICC(3,1) of two methods measuring the same n targets: a, b (n,)."""
    x, y = _pairs(a, b)
    return icc_3_1(np.stack([x, y], axis=1), alpha)
