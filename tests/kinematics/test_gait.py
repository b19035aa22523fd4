"""Gait events and outcomes on synthetic walkers whose events and angles are known exactly."""

from __future__ import annotations

import numpy as np
import pytest

from anonymotion.kinematics.gait_events import GaitEventParams, detect_gait_events
from anonymotion.kinematics.gait_outcomes import OUTCOMES, outcomes_from_arrays, person_outcomes
from anonymotion.pose.skeletons import MEDIAPIPE_33
from anonymotion.types import Poses

pytestmark = pytest.mark.timeout(30)


def _events_match(found: np.ndarray, truth: np.ndarray, tol: int = 1) -> bool:
    return len(found) == len(truth) and bool(np.all(np.abs(np.asarray(found) - truth) <= tol))


@pytest.mark.parametrize("kw", [
    {},                                   # overground, walking to the image right
    {"direction": -1},                    # walking to the image left
    {"pan": 2.0},                         # a camera panning faster than the walker: she drifts left
    {"treadmill": True},                  # no pelvis travel: direction from the feet
    {"dims": 3, "leg": 0.9},              # hip-centred world metres
    {"noise": 2.0},                       # 2 px of keypoint noise
    {"fps": 30.0, "stride_s": 1.07},      # strides that fall between frames
])
def test_heel_strikes_and_toe_offs_within_one_frame(walk, kw):
    w = walk(**kw)
    ev = detect_gait_events(w.points, w.t, MEDIAPIPE_33, w.score)
    tol = 2 if kw.get("noise") else 1  # noise moves the flat-bottomed toe minimum by up to 2 frames
    for side in ("left", "right"):
        assert _events_match(ev.heel_strikes[side], w.heel_strikes[side], tol), (side, ev.heel_strikes, w.heel_strikes)
        assert _events_match(ev.toe_offs[side], w.toe_offs[side], tol), (side, ev.toe_offs, w.toe_offs)
    # every stride between two found heel strikes of one foot is a cycle: 3 per foot in 4.4 s
    assert sorted(c.side for c in ev.cycles) == ["left"] * 3 + ["right"] * 3
    assert ev.walking and ev.note == ""


def test_walking_direction_sign_from_the_feet_or_else_the_pelvis(walk):
    from anonymotion.kinematics.gait_events import walking_direction

    panned = walk(pan=2.0)  # walks right, but the pelvis drifts left in the image
    hip = panned.points[:, MEDIAPIPE_33.index("left_hip"), 0]
    assert hip[-1] < hip[0]
    d, source = walking_direction(panned.points, panned.t, panned.score, MEDIAPIPE_33)
    assert source == "feet" and d[0] > 0.99
    flat = walk(direction=-1)  # a foot seen end-on: foot index on the heel, no toe-ahead cue
    pts = flat.points.copy()
    for side in ("left", "right"):
        pts[:, MEDIAPIPE_33.index(f"{side}_foot_index")] = pts[:, MEDIAPIPE_33.index(f"{side}_heel")]
    d, source = walking_direction(pts, flat.t, flat.score, MEDIAPIPE_33)
    assert source == "pelvis" and d[0] < -0.99
    tread = walk(treadmill=True)  # no toe-ahead cue and no travel: the sign is unknown, not guessed
    pts = tread.points.copy()
    for side in ("left", "right"):
        pts[:, MEDIAPIPE_33.index(f"{side}_foot_index")] = pts[:, MEDIAPIPE_33.index(f"{side}_heel")]
    d, reason = walking_direction(pts, tread.t, tread.score, MEDIAPIPE_33)
    assert d is None and "unknown" in reason
    ev = detect_gait_events(pts, tread.t, MEDIAPIPE_33, tread.score)
    assert not ev.walking and "unknown" in ev.note


def test_cadence_and_stride_time_are_exact_and_stance_is_known(walk):
    w = walk(stride_s=1.12, stance=0.6)  # 56 frames per stride, right foot exactly 28 frames later
    res = outcomes_from_arrays(w.points, w.t, MEDIAPIPE_33, {}, score=w.score)
    assert len(res.cycles) == 6
    np.testing.assert_allclose(res.values("stride_time"), 1.12, atol=1e-3)  # 1/20 of a frame: events are refined below one frame
    np.testing.assert_allclose(res.values("cadence"), 120 / 1.12, atol=0.02)
    np.testing.assert_allclose(res.values("step_time"), 0.56, atol=1e-3)  # 1/20 of a frame: events are refined below one frame
    np.testing.assert_allclose(res.values("stance"), 60.0, atol=100 / 56)  # within one frame of the cycle
    np.testing.assert_allclose(res.values("stance") + res.values("swing"), 100.0)


def test_known_sinusoidal_knee_curve_is_recovered(walk):
    w = walk(stride_s=1.12, knee_mean=35.0, knee_amp=30.0, knee_peak=0.72)
    poses = Poses(t=w.t, xy=w.points.astype(np.float32), score=w.score.astype(np.float32),
                  names=MEDIAPIPE_33, size=(1280, 720))
    res = person_outcomes(poses)
    knee = [c for c in res.cycles if np.isfinite(c.values["knee_rom"])]
    assert len(knee) == 6
    np.testing.assert_allclose(res.values("knee_rom"), 60.0, atol=0.1)   # 5° to 65°
    np.testing.assert_allclose(res.values("knee_peak"), 65.0, atol=0.1)
    np.testing.assert_allclose(res.values("knee_peak_time"), 72.0, atol=1.0)
    mean, sd, n = res.mean_curve("knee", "left")
    truth = 35.0 + 30.0 * np.cos(2 * np.pi * (np.linspace(0, 1, 101) - 0.72))
    assert n == 3 and np.max(np.abs(mean - truth)) < 0.5 and np.max(sd) < 0.2
    # every other joint is measured too (hip, ankle, elbow are finite, plausible degrees)
    for joint in ("hip", "ankle", "elbow"):
        assert np.all(np.isfinite(res.values(f"{joint}_rom"))) and np.all(res.values(f"{joint}_rom") < 90)


def test_3d_world_landmarks_give_the_same_timing(walk):
    w = walk(dims=3, leg=0.9, stride_s=1.12)
    poses = Poses(t=w.t, xy=w.points[..., :2].astype(np.float32), score=w.score.astype(np.float32),
                  names=MEDIAPIPE_33, size=(1280, 720), world=w.points.astype(np.float32))
    res = person_outcomes(poses, dims=3)
    assert res.dims == 3 and len(res.cycles) == 6
    np.testing.assert_allclose(res.values("stride_time"), 1.12, atol=1e-3)  # 1/20 of a frame: events are refined below one frame
    np.testing.assert_allclose(res.values("knee_rom"), 55.0, atol=0.1)  # default curve 5° to 60°


@pytest.mark.parametrize("kw", [{}, {"sway": 0.05}, {"dims": 3}])
def test_standing_still_reports_no_cycles(standing, kw):
    w = standing(**kw)
    ev = detect_gait_events(w.points, w.t, MEDIAPIPE_33, w.score)
    assert not ev.walking and ev.cycles == ()
    assert ev.note.startswith("no gait cycles")
    res = outcomes_from_arrays(w.points, w.t, MEDIAPIPE_33, {}, score=w.score)
    assert res.cycles == () and res.note


def test_lost_person_and_unseen_feet_say_so(walk):
    w = walk()
    score = w.score.copy()
    score[:, :] = 0.0
    ev = detect_gait_events(w.points, w.t, MEDIAPIPE_33, score)
    assert not ev.walking and "not found" in ev.note
    # a gap in the middle of the clip breaks the strides across it, never bridges them
    score = w.score.copy()
    score[95:125] = 0.0
    ev = detect_gait_events(w.points, w.t, MEDIAPIPE_33, score)
    assert all(c.end <= 95 or c.start >= 125 for c in ev.cycles)


def test_parameters_are_settable(walk):
    w = walk(stride_s=1.1)
    strict = detect_gait_events(w.points, w.t, MEDIAPIPE_33, w.score, GaitEventParams(min_stride_s=1.2))
    assert strict.cycles == () and "no complete stride" in strict.note and "stride outside 1.2–2.5 s" in strict.note
    unfiltered = detect_gait_events(w.points, w.t, MEDIAPIPE_33, w.score, GaitEventParams(cutoff_hz=None))
    assert len(unfiltered.cycles) == 6
    high = detect_gait_events(w.points, w.t, MEDIAPIPE_33, w.score, GaitEventParams(prominence=2.0))
    assert not high.walking


def test_rows_one_per_person_cycle_outcome(walk):
    from anonymotion.kinematics.gait_outcomes import GaitOutcomes

    w = walk()
    p1 = outcomes_from_arrays(w.points, w.t, MEDIAPIPE_33, {}, score=w.score, person="1")
    p2 = outcomes_from_arrays(w.points, w.t, MEDIAPIPE_33, {}, score=w.score, person="2")
    rows = GaitOutcomes("walk.mp4", 50.0, (p1, p2)).to_rows()
    assert len(rows) == 2 * 6 * len(OUTCOMES)
    assert {r["person"] for r in rows} == {"1", "2"}
    cad = [r for r in rows if r["outcome"] == "cadence"]
    assert all(r["unit"] == "steps/min" and r["value"] != "" for r in cad)
    knee = [r for r in rows if r["outcome"] == "knee_rom"]
    assert all(r["value"] == "" for r in knee)  # no angle table given: not measurable, not zero
