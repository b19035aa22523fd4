"""3D angles in any world whose vertical is given: a Z-up lab equals MediaPipe's y-down frame."""

from __future__ import annotations

import numpy as np

from anonymotion.kinematics.angles3d import angles_3d
from anonymotion.pose.skeletons import MEDIAPIPE_33


def test_z_up_lab_gives_the_angles_of_the_same_pose_in_mediapipe_axes():
    rng = np.random.default_rng(3)
    mp = rng.normal(0, 0.3, (20, 33, 3))  # metres, MediaPipe world axes: x right, y down, z away
    for name, y in (("left_shoulder", -0.5), ("right_shoulder", -0.5), ("left_hip", 0.0), ("right_hip", 0.0),
                    ("left_knee", 0.45), ("right_knee", 0.45), ("left_ankle", 0.9), ("right_ankle", 0.9)):
        mp[:, MEDIAPIPE_33.index(name), 1] += y
    # a proper rotation to a Z-up lab in millimetres: lab X = mp x, lab Y = mp z, lab Z = -mp y
    lab = np.stack([mp[..., 0], mp[..., 2], -mp[..., 1]], -1) * 1000.0 + [2000.0, -500.0, 0.0]
    a_mp, names = angles_3d(mp, MEDIAPIPE_33)
    a_lab, _ = angles_3d(lab, MEDIAPIPE_33, up=(0, 0, 1))
    np.testing.assert_allclose(a_lab, a_mp, atol=1e-6)
    wrong, _ = angles_3d(lab, MEDIAPIPE_33)  # the default vertical (MediaPipe's) is wrong for a lab
    assert np.nanmax(np.abs(wrong - a_mp)[:, names.index("pelvis_abduction")]) > 1.0
