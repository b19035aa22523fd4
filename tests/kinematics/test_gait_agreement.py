"""Agreement of gait outcomes between two runs: pairing by time, Bland–Altman, ICC, verdicts."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from anonymotion.kinematics.angles import angles_2d
from anonymotion.kinematics.gait_outcomes import outcomes_from_arrays
from anonymotion.metrics.gait_agreement import agreement, judge, pair_cycles
from anonymotion.pose.skeletons import MEDIAPIPE_33

pytestmark = pytest.mark.timeout(30)


def _outcomes(w, knee_offset: float = 0.0, drop_after: float | None = None):
    ang, _, names = angles_2d(w.points, w.score, MEDIAPIPE_33)
    angles = dict(zip(names, ang.T))
    angles["left_knee"] = angles["left_knee"] + knee_offset
    angles["right_knee"] = angles["right_knee"] + knee_offset
    score = w.score.copy()
    if drop_after is not None:
        score[w.t >= drop_after] = 0.0
    return outcomes_from_arrays(w.points, w.t, MEDIAPIPE_33, angles, score=score).cycles


def test_a_video_agrees_perfectly_with_itself(walk):
    cycles = _outcomes(walk(seconds=8.0, noise=1.5, seed=3))  # noise: cycles differ, so ICC is defined
    res = {a.outcome: a for a in judge(agreement(cycles, cycles, fps=50.0))}
    assert len(cycles) >= 10
    for name in ("cadence", "stride_time", "stance", "knee_rom", "hip_peak", "elbow_rom"):
        a = res[name]
        assert a.n_pairs == len(cycles) and a.lost == 0
        assert (a.ba.bias, a.ba.sd, a.ba.loa_low, a.ba.loa_high) == (0.0, 0.0, 0.0, 0.0)
        assert a.icc.value == 1.0 and a.verdict == "pass"


def test_an_offset_knee_shows_as_bias_and_is_judged_against_the_limit(walk):
    w = walk(seconds=8.0, noise=1.5, seed=3)
    ref = _outcomes(w)
    small = {a.outcome: a for a in judge(agreement(ref, _outcomes(w, knee_offset=3.0), fps=50.0))}
    assert small["knee_peak"].ba.bias == pytest.approx(3.0, abs=1e-9)
    assert small["knee_peak"].verdict == "pass"
    assert small["knee_rom"].ba.bias == pytest.approx(0.0, abs=1e-9)  # an offset leaves the ROM
    large = judge(agreement(ref, _outcomes(w, knee_offset=8.0), fps=50.0))
    large = {a.outcome: a for a in large}
    assert large["knee_peak"].verdict == "fail" and "limit 5" in large["knee_peak"].judged_on
    # the same 8° offset in the re-encode control: the method is not worse, so not penalised
    control = agreement(ref, _outcomes(w, knee_offset=8.0), fps=50.0)
    within = {a.outcome: a for a in judge(agreement(ref, _outcomes(w, knee_offset=8.0), fps=50.0), control)}
    assert within["knee_peak"].verdict == "pass (within control)"
    better = {a.outcome: a for a in judge(agreement(ref, _outcomes(w, knee_offset=3.0), fps=50.0), control)}
    assert better["knee_peak"].verdict == "pass"


def test_cycles_lost_in_the_test_video_fail_unless_the_control_lost_them(walk):
    w = walk(seconds=8.0, noise=1.5, seed=3)
    ref = _outcomes(w)
    lost = _outcomes(w, drop_after=4.0)
    res = {a.outcome: a for a in judge(agreement(ref, lost, fps=50.0))}
    assert res["cadence"].lost > 0 and res["cadence"].verdict == "fail"
    assert "lost" in res["cadence"].judged_on
    control = agreement(ref, lost, fps=50.0)
    res = {a.outcome: a for a in judge(agreement(ref, lost, fps=50.0), control)}
    assert res["cadence"].verdict == "pass"


def test_pairing_is_by_person_side_and_time(walk):
    cycles = _outcomes(walk())
    shifted = [replace(c, cycle=replace(c.cycle, start_s=c.cycle.start_s + 0.5)) for c in cycles]
    assert pair_cycles(cycles, shifted) == []  # half a second apart: different strides
    other = [replace(c, person="2") for c in cycles]
    assert pair_cycles(cycles, other) == []
    assert len(pair_cycles(cycles, other, person_map={"1": "2"})) == len(cycles)
    nothing = {a.outcome: a for a in judge(agreement([], cycles))}
    assert nothing["cadence"].verdict == "n/a"
