"""Triangulation maths on synthetic points with the lab's cameras: exact round trips, outliers, weights."""

from __future__ import annotations

import numpy as np
import pytest

from anonymotion.multiview.camera import Camera, distort_normalised, undistort_normalised
from anonymotion.multiview.triangulation import triangulate_points, weighted_dlt


def _volume_points(n: int = 200, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform([-1800, -700, 0], [-200, 700, 1900], (n, 3))  # mm, where the participant moves


def _observe(cams, X):
    return np.stack([c.project(X) for c in cams], axis=1)  # (N, C, 2) distorted px


def test_points_projected_into_all_cameras_triangulate_back_within_1mm(lab_calibration):
    cams = lab_calibration.cameras
    X = _volume_points()
    res = triangulate_points(cams, _observe(cams, X))
    assert np.isfinite(res.points).all()
    assert np.abs(res.points - X).max() < 1.0  # mm (in fact ~1e-6)
    assert np.nanmax(res.error) < 1e-3 and res.used.all()


def test_any_two_views_suffice_and_one_view_gives_nan(lab_calibration):
    cams = lab_calibration.cameras
    X = _volume_points(20)
    xy = _observe(cams, X)
    xy[:, 2:] = np.nan  # only cam01 and cam02
    res = triangulate_points(cams, xy)
    np.testing.assert_allclose(res.points, X, atol=1e-3)
    assert (res.views == 2).all()
    xy[:, 1] = np.nan  # one view left
    res = triangulate_points(cams, xy)
    assert np.isnan(res.points).all() and (res.views == 0).all()


def test_distorted_points_round_trip():
    dist = np.array([-0.25, 0.08, 0.002, -0.0015, 0.0])  # stronger than any lab lens
    cam = Camera("c", [[900, 0, 640], [0, 905, 360], [0, 0, 1]], dist, np.eye(3), [0, 0, 0], (1280, 720))
    rng = np.random.default_rng(1)
    xn = rng.uniform([-0.65, -0.38], [0.65, 0.38], (500, 2))  # whole frame, corners included
    X = np.concatenate([xn * 3000.0, np.full((500, 1), 3000.0)], axis=1)
    px = cam.project(X)
    assert np.abs(px - np.array([640, 360])).max() > 400  # the corners really are distorted
    np.testing.assert_allclose(undistort_normalised(cam, px), xn, atol=1e-9)
    np.testing.assert_allclose(distort_normalised(dist, undistort_normalised(cam, px)) * [900, 905] + [640, 360],
                               px, atol=1e-6)


def test_lab_distortion_is_undone_before_triangulating(lab_calibration):
    """Ignoring the lens model would move points near the image corners by several px."""
    cams = lab_calibration.cameras
    X = _volume_points(50, seed=3)
    xy = _observe(cams, X)
    plain = [Camera(c.name, c.K, np.zeros(5), c.R, c.t, c.size) for c in cams]
    assert np.abs(triangulate_points(plain, xy).points - X).max() > 1.0
    assert np.abs(triangulate_points(cams, xy).points - X).max() < 1e-3


def test_a_wrong_view_is_dropped_and_the_point_retriangulated(lab_calibration):
    cams = lab_calibration.cameras
    X = _volume_points(30, seed=4)
    xy = _observe(cams, X)
    rng = np.random.default_rng(5)
    xy += rng.normal(0, 1.0, xy.shape)  # 1 px detector noise
    xy[:, 2] += [120.0, -80.0]  # cam03 swapped a limb: 144 px off
    res = triangulate_points(cams, xy, max_error=15.0)
    assert not res.used[:, 2].any() and res.used[:, [0, 1, 3]].all()
    assert np.linalg.norm(res.points - X, axis=-1).max() < 15.0  # mm
    assert np.nanmedian(res.error) < 3.0
    naive = triangulate_points(cams, xy, max_error=1e9)
    assert np.linalg.norm(naive.points - X, axis=-1).mean() > 3 * np.linalg.norm(res.points - X, axis=-1).mean()


def test_two_disagreeing_views_give_nan_not_a_wrong_point(lab_calibration):
    cams = lab_calibration.cameras[:2]
    X = _volume_points(5, seed=6)
    xy = _observe(cams, X)
    xy[:, 1] += 200.0
    res = triangulate_points(cams, xy, max_error=15.0)
    assert np.isnan(res.points).all()


def test_low_scores_are_not_used_and_weights_pull_the_solution(lab_calibration):
    cams = lab_calibration.cameras
    X = _volume_points(10, seed=8)
    xy = _observe(cams, X)
    score = np.ones((10, 4))
    score[:, 3] = 0.1
    res = triangulate_points(cams, xy, score, min_score=0.3)
    assert not res.used[:, 3].any()
    xy[:, 0] += 6.0  # a small error in cam01 only
    xn = np.stack([c.undistort(xy[:, i]) for i, c in enumerate(cams)], axis=1)
    Rt = np.stack([c.Rt for c in cams])
    low = weighted_dlt(Rt, xn, np.array([0.1, 1, 1, 1.0])[None].repeat(10, 0))
    high = weighted_dlt(Rt, xn, np.array([1.0, 1, 1, 1])[None].repeat(10, 0))
    assert np.linalg.norm(low - X, axis=-1).mean() < np.linalg.norm(high - X, axis=-1).mean()


@pytest.mark.parametrize("shape", [(0, 4, 2), (3, 4, 2)])
def test_empty_and_all_missing_input(lab_calibration, shape):
    res = triangulate_points(lab_calibration.cameras, np.full(shape, np.nan))
    assert res.points.shape == (shape[0], 3) and np.isnan(res.points).all()
