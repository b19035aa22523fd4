"""Agreement of gait outcomes between two runs: pairing by time, Bland–Altman, ICC, the judge."""

from __future__ import annotations

from dataclasses import replace

import pytest

from anonymotion.evaluation.judge import judge_outcome
from anonymotion.kinematics.angles import angles_2d
from anonymotion.kinematics.gait_outcomes import outcomes_from_arrays
from anonymotion.metrics.gait_agreement import agreement, pair_cycles
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


def _judged(ref, test, control=None):
    rows = {a.outcome: a.to_json() for a in agreement(ref, test, fps=50.0)}
    ctl = {a.outcome: a.to_json() for a in agreement(ref, control, fps=50.0)} if control is not None else {}
    return {k: judge_outcome(r, ctl.get(k) if control is not None else None) for k, r in rows.items()}


def test_a_video_agrees_perfectly_with_itself(walk):
    cycles = _outcomes(walk(seconds=8.0, noise=1.5, seed=3))  # noise: cycles differ, so ICC is defined
    res = {a.outcome: a for a in agreement(cycles, cycles, fps=50.0)}
    judged = _judged(cycles, cycles)
    assert len(cycles) >= 10
    for name in ("cadence", "stride_time", "stance", "knee_rom", "hip_peak", "elbow_rom"):
        a = res[name]
        assert a.n_pairs == len(cycles) and a.lost == 0
        assert (a.ba.bias, a.ba.sd, a.ba.loa_low, a.ba.loa_high) == (0.0, 0.0, 0.0, 0.0)
        assert a.icc.value == 1.0
        assert judged[name]["verdict"] == "ok"


def test_an_offset_knee_shows_as_bias_and_is_judged_against_the_limit(walk):
    w = walk(seconds=8.0, noise=1.5, seed=3)
    ref = _outcomes(w)
    small = _judged(ref, _outcomes(w, knee_offset=3.0))
    assert small["knee_peak"]["bias"] == pytest.approx(3.0, abs=1e-9)
    assert small["knee_peak"]["verdict"] == "ok"
    assert small["knee_rom"]["bias"] == pytest.approx(0.0, abs=1e-9)  # an offset leaves the ROM
    large = _judged(ref, _outcomes(w, knee_offset=8.0))
    assert large["knee_peak"]["verdict"] == "fail" and "limit 5 °" in large["knee_peak"]["judged_on"]
    # the same 8° offset in the re-encode control: the method is not worse, so not penalised
    within = _judged(ref, _outcomes(w, knee_offset=8.0), control=_outcomes(w, knee_offset=8.0))
    assert within["knee_peak"]["verdict"] == "ok" and "control" in within["knee_peak"]["judged_on"]
    # beating a bad control is never penalised either
    better = _judged(ref, _outcomes(w, knee_offset=3.0), control=_outcomes(w, knee_offset=8.0))
    assert better["knee_peak"]["verdict"] == "ok"


def test_cycles_lost_in_the_test_video_fail_unless_the_control_lost_them(walk):
    w = walk(seconds=8.0, noise=1.5, seed=3)
    ref = _outcomes(w)
    lost = _outcomes(w, drop_after=4.0)
    res = _judged(ref, lost)
    assert res["cadence"]["lost"] > 0 and res["cadence"]["verdict"] == "fail"
    assert "lost" in res["cadence"]["judged_on"]
    res = _judged(ref, lost, control=lost)
    assert res["cadence"]["verdict"] == "ok"


def test_pairing_is_by_person_side_and_time(walk):
    cycles = _outcomes(walk())
    shifted = [replace(c, cycle=replace(c.cycle, start_s=c.cycle.start_s + 0.5)) for c in cycles]
    assert pair_cycles(cycles, shifted) == []  # half a second apart: different strides
    other = [replace(c, person="2") for c in cycles]
    assert pair_cycles(cycles, other) == []
    assert len(pair_cycles(cycles, other, person_map={"1": "2"})) == len(cycles)
    nothing = _judged([], cycles)
    assert nothing["cadence"]["verdict"] == "n/a"
