"""EPE, PTK, PCK and MPJPE on hand-built keypoint tracks with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from anonymotion.metrics.pose import keypoint_stats, mpjpe_mm, torso_length
from anonymotion.pose.skeletons import MEDIAPIPE_33 as N
from kit import standing_person


def _track(t: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """(t, 33, 2) px: the kit's standing person (torso length 100 px) in every frame, all scores 0.9."""
    xy = np.tile(standing_person(cx=80, hip_y=200, torso=100), (t, 1, 1))
    return xy, np.full((t, 33), 0.9, np.float32)


def test_identical_tracks_have_zero_error_and_full_ptk_pck():
    xy, s = _track()
    ks, o = keypoint_stats(xy, s, xy.copy(), s.copy(), N)
    assert o["epe_px"] == 0 and o["epe_norm"] == 0
    assert o["ptk_pct"] == 100 and o["pck_005"] == 100 and o["pck_01"] == 100
    assert np.all(ks.epe_px == 0) and np.all(ks.n == 4)
    assert torso_length(xy, N) == pytest.approx([100] * 4)


def test_shifted_keypoint_error_normalised_by_torso_and_pck_limits():
    xy, s = _track()
    test = xy.copy()
    k = N.index("left_knee")
    test[:, k] += (6, 8)  # 10 px = 0.1 torso
    ks, o = keypoint_stats(xy, s, test, s, N)
    assert ks.epe_px[k] == pytest.approx(10)
    assert ks.epe_norm[k] == pytest.approx(0.1)
    assert ks.pck_005[k] == 0 and ks.pck_01[k] == 100
    assert o["epe_px"] == pytest.approx(10 / 33)
    assert ks.epe_sd_px[k] == pytest.approx(0) and ks.epe_max_px[k] == pytest.approx(10)


def test_ptk_counts_keypoints_below_threshold_and_missing_frames():
    xy, s = _track()
    test, ts = xy.copy(), s.copy()
    ts[:, N.index("nose")] = 0.3  # nose below threshold in all frames
    test[3] = np.nan  # person lost in the last frame
    ts[3] = 0
    ks, o = keypoint_stats(xy, s, test, ts, N, threshold=0.5)
    assert ks.ptk_pct[N.index("nose")] == 0
    assert ks.ptk_pct[N.index("left_knee")] == pytest.approx(75)
    assert o["ptk_pct"] == pytest.approx(100 * (3 * 32) / (4 * 33))
    assert o["detection_rate_ref"] == 1 and o["detection_rate_test"] == pytest.approx(0.75)
    # EPE only over keypoints detected in both: the lost frame does not count as zero error
    assert ks.n[N.index("left_knee")] == 3 and np.isnan(ks.epe_px[N.index("nose")])
    # confidence over frames with a person
    assert o["confidence_test"] == pytest.approx((32 * 0.9 + 0.3) / 33, rel=1e-5)


def test_mpjpe_in_millimetres():
    w = np.zeros((2, 33, 3), np.float32)
    w2 = w.copy()
    w2[..., 2] = 0.013
    assert mpjpe_mm(w, w2) == pytest.approx(13.0, rel=1e-5)
