"""Angle difference statistics and the verdict against the 5° / 1.27° limits."""

from __future__ import annotations

import numpy as np
import pytest

from anonymotion.evaluation.judge import judge, judge_angle, verdict
from anonymotion.metrics.angles import SD_LIMIT_DEG, angle_stats, summarize_diff


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
    nan = float("nan")
    assert verdict(nan, nan, lost=True) == "fail"  # e.g. body-pixelate: the pose detector never fired
    assert verdict(nan, nan) == "n/a"
    assert verdict(0.5, 0.2) == "ok" and verdict(0.5, 2.0) == "sd" and verdict(6.0, 0.1) == "fail"


def test_a_method_better_than_the_control_is_never_penalised():
    # cam01's right elbow: blur RMSE 5.2 (SD 3.0) against a control of 14.5 (SD 9.8) was called "SD changed"
    j = judge_angle({"rmse": 5.2, "sd": 3.0, "n": 90}, {"rmse": 14.5, "sd": 9.8, "n": 100})
    assert j["verdict"] == "ok" and j["sd_change"] == pytest.approx(-6.8) and j["excess_rmse"] < 0
    worse = judge_angle({"rmse": 5.2, "sd": 3.0 + 1.3, "n": 90}, {"rmse": 5.0, "sd": 3.0, "n": 100})
    assert worse["verdict"] == "sd"  # an SD that grows beyond 1.27 degrees is still flagged


def test_judge_matches_rows_by_angle_and_fails_an_angle_missing_from_the_method():
    nan = float("nan")
    rows = [{"angle": "left_knee", "rmse": 1.0, "sd": 1.0, "n": 50}, {"angle": "left_elbow", "rmse": nan, "sd": nan, "n": 0}]
    control = [{"angle": "left_elbow", "rmse": 2.0, "sd": 1.5, "n": 50}, {"angle": "left_knee", "rmse": 0.5, "sd": 0.8, "n": 50}]
    judged = judge(rows, control)
    assert [r["angle"] for r in judged] == ["left_knee", "left_elbow"]
    assert judged[0]["excess_rmse"] == pytest.approx(0.5) and judged[0]["verdict"] == "ok"
    assert judged[1]["verdict"] == "fail" and judged[1]["control_n"] == 50
