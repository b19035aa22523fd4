"""Fixtures of the multi-view tests: the lab calibration and synthetic skeletons in its world."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from anonymotion.multiview.calibration import Calibration, read_calibration
from anonymotion.pose.skeletons import MEDIAPIPE_33


@pytest.fixture(scope="session")
def lab_calibration_path(shared_data) -> Path:
    return shared_data("lab_single/calibration.qca.txt")


@pytest.fixture(scope="session")
def lab_calibration(lab_calibration_path) -> Calibration:
    return read_calibration(lab_calibration_path)


@pytest.fixture(scope="session")
def skeleton():
    """The :func:`standing_skeleton` builder."""
    return standing_skeleton


def standing_skeleton(centre=(0.0, 0.0, 0.0), yaw: float = 0.0) -> np.ndarray:
    """(33, 3) mm: a standing person (Z up) with feet at ``centre``, facing +X rotated by ``yaw`` rad."""
    rng = np.random.default_rng(7)
    base = {
        "left_hip": (0, 100, 950), "right_hip": (0, -100, 950), "left_knee": (20, 110, 520),
        "right_knee": (20, -110, 520), "left_ankle": (0, 110, 90), "right_ankle": (0, -110, 90),
        "left_heel": (-50, 110, 50), "right_heel": (-50, -110, 50), "left_foot_index": (120, 120, 20),
        "right_foot_index": (120, -120, 20), "left_shoulder": (0, 190, 1450), "right_shoulder": (0, -190, 1450),
        "left_elbow": (10, 230, 1170), "right_elbow": (10, -230, 1170), "left_wrist": (60, 240, 920),
        "right_wrist": (60, -240, 920), "nose": (100, 0, 1650), "left_ear": (0, 80, 1640),
        "right_ear": (0, -80, 1640),
    }
    pts = np.zeros((33, 3))
    for i, name in enumerate(MEDIAPIPE_33):
        if name in base:
            pts[i] = base[name]
        else:  # face and hand points near the nose or wrists
            anchor = "nose" if i <= 10 else ("left_wrist" if "left" in name else "right_wrist")
            pts[i] = np.asarray(base[anchor]) + rng.uniform(-40, 40, 3)
    c, s = np.cos(yaw), np.sin(yaw)
    rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    return pts @ rot.T + np.asarray(centre, np.float64)
