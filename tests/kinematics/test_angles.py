"""Joint angles on hand-built keypoints with known answers, and degenerate input."""

from __future__ import annotations

import numpy as np
import pytest

from anonymotion.kinematics.angles import ANGLE_NAMES_2D, angle_difference, angles_2d
from anonymotion.kinematics.angles3d import ANGLE_NAMES_3D, angles_3d
from anonymotion.pose.skeletons import MEDIAPIPE_33 as N
from kit import standing_person


def _standing_2d() -> tuple[np.ndarray, np.ndarray]:
    """The kit's upright person facing the camera (arms hanging, legs straight; torso 100 px)
    with score 0.9 on every keypoint."""
    xy = standing_person(cx=100, hip_y=200, torso=100)
    return xy, np.full(len(xy), 0.9, np.float32)


def _col(name):
    return ANGLE_NAMES_2D.index(name)


def test_left_knee_and_elbow_come_first():
    assert ANGLE_NAMES_2D[:2] == ("left_knee", "left_elbow")
    assert ANGLE_NAMES_3D[:2] == ("left_knee_flexion", "left_elbow_flexion")


def test_straight_limbs_are_zero_flexion_and_right_angle_knee_is_90():
    xy, score = _standing_2d()
    ang, conf, names = angles_2d(xy[None], score[None], N)
    assert ang[0, _col("left_knee")] == pytest.approx(0, abs=1e-6)
    assert ang[0, _col("left_elbow")] == pytest.approx(0, abs=1e-6)
    assert ang[0, _col("left_shoulder")] == pytest.approx(0, abs=1e-6)  # arm along the trunk
    assert ang[0, _col("left_ankle")] == pytest.approx(0, abs=1e-6)  # foot perpendicular to shank
    assert ang[0, _col("trunk")] == pytest.approx(0, abs=1e-6)
    assert ang[0, _col("neck")] == pytest.approx(0, abs=1e-6)
    assert conf[0, _col("left_knee")] == pytest.approx(0.9)
    # bend the left knee to a right angle: ankle straight forward (image right) of the knee
    xy[N.index("left_ankle")] = xy[N.index("left_knee")] + (60, 0)
    # raise the right arm to horizontal (to image left), elbow bent 90 degrees up
    xy[N.index("right_elbow")] = xy[N.index("right_shoulder")] + (-50, 0)
    xy[N.index("right_wrist")] = xy[N.index("right_elbow")] + (0, -50)
    ang, conf, _ = angles_2d(xy[None], score[None], N)
    assert ang[0, _col("left_knee")] == pytest.approx(90)
    assert ang[0, _col("right_shoulder")] == pytest.approx(90)
    assert ang[0, _col("right_elbow")] == pytest.approx(90)


def test_trunk_inclination_is_signed_and_wraps():
    xy, score = _standing_2d()
    for k in ("left_shoulder", "right_shoulder"):
        xy[N.index(k)] += (100, 0)  # shoulders 100 px right of 100 px up -> 45 deg lean to image right
    ang, _, _ = angles_2d(xy[None], score[None], N)
    assert ang[0, _col("trunk")] == pytest.approx(45)
    assert angle_difference(np.array([179.0]), np.array([-179.0]), wraps=True)[0] == pytest.approx(2)
    assert angle_difference(np.array([10.0]), np.array([4.0]), wraps=False)[0] == pytest.approx(-6)


def test_coincident_and_missing_points_give_nan_and_zero_confidence():
    xy, score = _standing_2d()
    xy[N.index("left_ankle")] = xy[N.index("left_knee")]
    xy[N.index("right_wrist")] = np.nan
    score[N.index("right_wrist")] = 0
    ang, conf, _ = angles_2d(xy[None], score[None], N)
    assert np.isnan(ang[0, _col("left_knee")]) and conf[0, _col("left_knee")] == 0
    assert np.isnan(ang[0, _col("right_elbow")]) and conf[0, _col("right_elbow")] == 0
    assert np.isfinite(ang[0, _col("left_elbow")])


def _standing_3d() -> np.ndarray:
    """World landmarks (metres, x image-right, y down, z away) of a person facing the camera."""
    w = np.full((33, 3), np.nan, np.float64)
    # facing the camera: subject's left is image right (+x), anterior is towards the camera (-z)
    put = {"left_hip": (0.1, 0, 0), "right_hip": (-0.1, 0, 0), "left_shoulder": (0.18, -0.5, 0),
           "right_shoulder": (-0.18, -0.5, 0), "left_elbow": (0.18, -0.2, 0), "right_elbow": (-0.18, -0.2, 0),
           "left_wrist": (0.18, 0.05, 0), "right_wrist": (-0.18, 0.05, 0), "left_knee": (0.1, 0.45, 0),
           "right_knee": (-0.1, 0.45, 0), "left_ankle": (0.1, 0.85, 0), "right_ankle": (-0.1, 0.85, 0),
           "left_foot_index": (0.1, 0.85, -0.15), "right_foot_index": (-0.1, 0.85, -0.15),
           "left_ear": (0.07, -0.7, 0), "right_ear": (-0.07, -0.7, 0)}
    for k, v in put.items():
        w[N.index(k)] = v
    return w


def _a3(w):
    ang, names = angles_3d(w[None], N)
    return {n: ang[0, i] for i, n in enumerate(names)}


def test_3d_neutral_stance_is_all_zero():
    a = _a3(_standing_3d())
    for n in ANGLE_NAMES_3D:
        assert a[n] == pytest.approx(0, abs=1e-6), n


def test_3d_known_rotations():
    w = _standing_3d()
    # left arm raised straight forward (towards the camera): shoulder flexion 90, abduction 0
    w[N.index("left_elbow")] = (0.18, -0.5, -0.3)
    w[N.index("left_wrist")] = (0.18, -0.5, -0.55)
    # right arm raised sideways (subject's right = image left): abduction 90
    w[N.index("right_elbow")] = (-0.48, -0.5, 0)
    # right elbow bent 90 degrees: forearm forward
    w[N.index("right_wrist")] = (-0.48, -0.5, -0.25)
    # left knee flexed 90: ankle behind the knee (away from the camera)
    w[N.index("left_ankle")] = (0.1, 0.45, 0.4)
    w[N.index("left_foot_index")] = (0.1, 0.6, 0.4)
    # head bent forward 45 degrees
    w[N.index("left_ear")] = (0.07, -0.65, -0.15)
    w[N.index("right_ear")] = (-0.07, -0.65, -0.15)
    a = _a3(w)
    assert a["left_shoulder_flexion"] == pytest.approx(90)
    assert a["left_shoulder_abduction"] == pytest.approx(0, abs=1e-6)
    assert a["left_elbow_flexion"] == pytest.approx(0, abs=1e-6)
    assert a["right_shoulder_abduction"] == pytest.approx(90)
    assert a["right_elbow_flexion"] == pytest.approx(90)
    assert a["left_knee_flexion"] == pytest.approx(90)
    assert a["neck_flexion"] == pytest.approx(45)
    assert a["neck_side_bend"] == pytest.approx(0, abs=1e-6)


def test_3d_abducted_leg_and_tilted_pelvis():
    w = _standing_3d()
    # left thigh abducted 30 degrees (towards +x, the subject's left)
    w[N.index("left_knee")] = (0.1 + 0.45 * np.sin(np.radians(30)), 0.45 * np.cos(np.radians(30)), 0)
    a = _a3(w)
    assert a["left_hip_abduction"] == pytest.approx(30)
    assert a["left_femur_abduction"] == pytest.approx(30)
    assert a["left_femur_flexion"] == pytest.approx(0, abs=1e-6)
    w = _standing_3d()
    w[N.index("left_hip")] = (0.1, -0.2 * np.tan(np.radians(10)), 0)  # left hip higher by 10 degrees
    a = _a3(w)
    assert a["pelvis_abduction"] == pytest.approx(10)


def test_3d_degenerate_input_is_nan_not_an_exception():
    w = _standing_3d()
    w[N.index("left_elbow")] = w[N.index("left_shoulder")]
    a = _a3(w)
    assert np.isnan(a["left_shoulder_flexion"]) and np.isnan(a["left_elbow_flexion"])
    ang, _ = angles_3d(np.full((2, 33, 3), np.nan), N)
    assert ang.shape == (2, len(ANGLE_NAMES_3D)) and np.isnan(ang).all()
