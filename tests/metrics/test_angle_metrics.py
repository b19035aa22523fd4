"""Angle difference statistics and the verdict against the 5° / 1.27° limits."""

from __future__ import annotations

import numpy as np
import pytest

from anonymotion.metrics.angles import SD_LIMIT_DEG, angle_stats, summarize_diff, verdict


def test_summary_of_known_differences():
    d = np.array([1.0, -1.0, 3.0, 7.0, np.nan])
    s = summarize_diff(d)
    assert s["n"] == 4
    assert s["rmse"] == pytest.approx(np.sqrt((1 + 1 + 9 + 49) / 4))
    assert s["bias"] == pytest.approx(2.5)
    assert s["sd"] == pytest.approx(np.std([1, -1, 3, 7], ddof=1))
    assert s["max_abs"] == 7
    assert s["within_5deg_pct"] == 75


def test_angle_stats_filters_by_confidence_and_wraps_signed_angles():
    ref = np.array([[10.0, 179.0], [20.0, 170.0], [30.0, -170.0]])
    test = np.array([[12.0, -179.0], [50.0, 171.0], [33.0, -171.0]])
    conf_r = np.array([[0.9, 0.9], [0.9, 0.9], [0.9, 0.9]])
    conf_t = np.array([[0.9, 0.9], [0.2, 0.9], [0.9, 0.9]])  # frame 1 of angle 0 not confident
    rows, d = angle_stats(ref, test, conf_r, conf_t, ("a", "b"), (False, True), min_conf=0.5)
    assert rows[0]["n"] == 2 and rows[0]["rmse"] == pytest.approx(np.sqrt((4 + 9) / 2))
    assert np.isnan(d[1, 0])
    assert d[:, 1] == pytest.approx([2.0, 1.0, -1.0])  # 179 -> -179 is +2, not -358
    assert rows[0]["conf_anon"] == pytest.approx((0.9 + 0.2 + 0.9) / 3)


def test_verdicts():
    assert verdict(0.5, 0.2) == "ok"
    assert verdict(0.5, SD_LIMIT_DEG + 0.1) == "sd"
    assert verdict(5.5, 0.1) == "fail"
    assert verdict(float("nan"), 0.1) == "n/a"
    assert SD_LIMIT_DEG == pytest.approx(5 / (1.96 * 2), abs=0.01)


def test_an_angle_lost_by_the_method_fails_instead_of_being_skipped():
    from anonymotion.metrics.angles import verdict

    nan = float("nan")
    assert verdict(nan, nan, lost=True) == "fail"  # e.g. body-pixelate: the pose detector never fired
    assert verdict(nan, nan) == "n/a"
    assert verdict(0.5, 0.2) == "ok" and verdict(0.5, 2.0) == "sd" and verdict(6.0, 0.1) == "fail"
