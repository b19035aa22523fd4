"""Wilcoxon, repeated-measures ANOVA and Friedman against scipy / textbook values."""

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


def test_rm_anova_matches_a_hand_computed_example():
    # 4 subjects x 3 conditions; SS_cond = 4 * ((2-3)^2 + 0 + (4-3)^2) = 8
    v = np.array([[1.0, 3, 4], [2, 3, 5], [3, 2, 3], [2, 4, 4]])
    r = rm_anova(v)
    grand = v.mean()
    ss_c = 4 * np.sum((v.mean(0) - grand) ** 2)
    ss_s = 3 * np.sum((v.mean(1) - grand) ** 2)
    ss_e = np.sum((v - grand) ** 2) - ss_c - ss_s
    assert r["F"] == pytest.approx((ss_c / 2) / (ss_e / 6))
    assert r["df1"] == 2 and r["df2"] == 6 and 0 < r["p"] < 1
    assert np.isnan(rm_anova(v[:1])["p"])


def test_friedman_needs_three_methods():
    v = np.array([[1.0, 2, 3], [1.5, 2.5, 3.5], [0.5, 2.0, 2.8], [1, 3, 4]])
    r = friedman(v)
    assert r["p"] < 0.05
    assert np.isnan(friedman(v[:, :2])["p"])
