"""Wilcoxon, repeated-measures ANOVA and Friedman against published examples and independent packages."""

from __future__ import annotations

import numpy as np
import pytest

from anonymotion.metrics.stats import friedman, pairwise_wilcoxon, rm_anova, wilcoxon_paired


def test_wilcoxon_detects_a_consistent_shift_and_not_noise():
    rng = np.random.default_rng(1)
    a = rng.normal(2, 1, 60)
    shifted = wilcoxon_paired(a, a + 1.0 + rng.normal(0, 0.2, 60))
    assert shifted["p"] < 1e-6 and shifted["median_diff"] > 0.8
    same = wilcoxon_paired(a, a)
    assert same["p"] == 1.0 and same["note"] == "identical"
    few = wilcoxon_paired(a[:3], a[:3] + 1)
    assert np.isnan(few["p"]) and few["note"] == "too few frames"
    rows = pairwise_wilcoxon({"x": a, "y": a + 1, "z": a})
    assert [(r["a"], r["b"]) for r in rows] == [("x", "y"), ("x", "z"), ("y", "z")]


#: Winer, B. J. (1971). Statistical Principles in Experimental Design, 2nd ed., p. 268: reaction
#: times of 5 subjects (rows) under each of 4 drugs (columns), as tabulated in the NCSS manual
#: (chapter 214, "Repeated Measures Analysis of Variance") and in M. Brannick's course page
#: http://faculty.cas.usf.edu/mbrannick/regression/Part2/DrugRepeated.html
WINER_DRUGS = np.array([[30.0, 28, 16, 34],
                        [14, 18, 10, 22],
                        [24, 20, 18, 30],
                        [38, 34, 20, 44],
                        [26, 28, 14, 30]])

#: Hollander & Wolfe (1973), Nonparametric Statistical Methods, p. 140ff, the example of R's
#: ``?friedman.test``: times (s) of 22 players (rows) rounding first base by three methods
#: (round out, narrow angle, wide angle). Within-row ties (players 7, 15, 17, 22) exercise the
#: tie correction.
ROUNDING_TIMES = np.array([
    [5.40, 5.50, 5.55], [5.85, 5.70, 5.75], [5.20, 5.60, 5.50], [5.55, 5.50, 5.40], [5.90, 5.85, 5.70],
    [5.45, 5.55, 5.60], [5.40, 5.40, 5.35], [5.45, 5.50, 5.35], [5.25, 5.15, 5.00], [5.85, 5.80, 5.70],
    [5.25, 5.20, 5.10], [5.65, 5.55, 5.45], [5.60, 5.35, 5.45], [5.05, 5.00, 4.95], [5.50, 5.50, 5.40],
    [5.45, 5.55, 5.50], [5.55, 5.55, 5.35], [5.45, 5.50, 5.55], [5.50, 5.45, 5.25], [5.65, 5.60, 5.40],
    [5.70, 5.65, 5.55], [6.30, 6.30, 6.25]])


def test_rm_anova_reproduces_winers_drug_example():
    """Golden values from independent sources, not from this module's formula:

    - all 4 drugs: F(3, 12) = 24.75886525, p = 1.992501315e-05, computed once with
      statsmodels 0.15.0 ``AnovaRM(data, "y", "subject", within=["drug"]).fit()`` and confirmed by
      pingouin 0.7.0 ``rm_anova(..., correction=False)`` (F = 24.758865, p = 0.00002);
    - drugs 1-3 only: F(2, 8) = 15.006 as printed in the worked example "Repeated Measures ANOVA
      solved example" (BSSE-602, UoK; SS between 362.1, subjects 441.1, error 96.5), and
      statsmodels 0.15.0: F = 15.00552486, p = 0.001962097094.
    """
    r = rm_anova(WINER_DRUGS)
    assert (r["df1"], r["df2"], r["n"]) == (3, 12, 5)
    assert r["F"] == pytest.approx(24.75886525, rel=1e-8)
    assert r["p"] == pytest.approx(1.992501315e-05, rel=1e-6)
    three = rm_anova(WINER_DRUGS[:, :3])
    assert (three["df1"], three["df2"]) == (2, 8)
    assert three["F"] == pytest.approx(15.006, abs=5e-4)  # the printed value
    assert three["F"] == pytest.approx(15.00552486, rel=1e-8)
    assert three["p"] == pytest.approx(0.001962097094, rel=1e-6)


def test_rm_anova_drops_incomplete_videos_and_refuses_too_little_data():
    """A video with a missing value (NaN) leaves the test, as in AnovaRM's complete-case design."""
    with_gap = np.vstack([WINER_DRUGS, [[40.0, np.nan, 20, 35]]])
    r = rm_anova(with_gap)
    assert r["n"] == 5 and r["F"] == pytest.approx(24.75886525, rel=1e-8)
    one = rm_anova(WINER_DRUGS[:1])
    assert np.isnan(one["p"]) and "at least 2 videos" in one["note"]
    flat = rm_anova(np.array([[1.0, 2.0], [3.0, 4.0]]))  # every video differs by the same amount
    assert np.isnan(flat["p"]) and flat["note"] == "no residual variance"


def test_friedman_reproduces_the_rounding_first_base_example():
    """R's ``friedman.test(RoundingTimes)`` prints "Friedman chi-squared = 11.143, df = 2,
    p-value = 0.003805" (the documented example; also pingouin 0.7.0 ``friedman``: Q = 11.142857,
    p = 0.003805)."""
    r = friedman(ROUNDING_TIMES)
    assert r["n"] == 22
    assert r["statistic"] == pytest.approx(11.142857, abs=1e-6)
    assert r["p"] == pytest.approx(0.003805, abs=5e-7)


def test_friedman_needs_three_methods_and_some_difference():
    assert np.isnan(friedman(ROUNDING_TIMES[:, :2])["p"])
    same = friedman(np.repeat(ROUNDING_TIMES[:, :1], 3, axis=1))
    assert np.isnan(same["p"]) and same["note"] == "identical"
