"""Confidence-weighted DLT triangulation with reprojection-based camera rejection (pure numpy).

Shapes: C cameras, N points (any leading axes flattened by the caller). Pixels are the
distorted pixels of each camera's upright video frames; 3D points are world mm.

Algorithm per point (as Pose2Sim does): triangulate from every view whose score is at least
``min_score``; while the largest reprojection error among the views used exceeds
``max_error`` px and more than ``min_views`` views are used, drop that view and
triangulate again; a point still above ``max_error`` (or seen in fewer than ``min_views``
views) is NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Sequence

import numpy as np

from anonymotion.multiview.camera import Camera, project, undistort_normalised


@dataclass(frozen=True)
class PointsResult:
    """Triangulated points and how they were obtained.

    points: (N, 3) world mm, NaN where not triangulated.
    error: (N, C) reprojection error in px of each camera used, NaN for cameras not used.
    used: (N, C) bool, the views the final point was triangulated from.
    candidate: (N, C) bool, the views that saw the point with enough confidence.
    """

    points: np.ndarray
    error: np.ndarray
    used: np.ndarray
    candidate: np.ndarray

    @property
    def views(self) -> np.ndarray:
        """(N,) number of views each finite point was triangulated from (0 where NaN)."""
        return np.where(np.isfinite(self.points).all(-1), self.used.sum(-1), 0)


def weighted_dlt(Rt: np.ndarray, xn: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Weighted direct linear transform.

    Rt: (C, 3, 4) world -> camera matrices. xn: (N, C, 2) undistorted normalised coordinates.
    weight: (N, C) >= 0 (0 = view not used). Returns (N, 3) in the world units of Rt;
    NaN where fewer than 2 views have weight > 0 or the solution is at infinity.
    """
    xn = np.asarray(xn, np.float64)
    w = np.where(np.isfinite(xn).all(-1), np.asarray(weight, np.float64), 0.0)
    x = np.nan_to_num(xn)
    # rows: w * (x * P3 - P1), w * (y * P3 - P2), each (N, C, 4)
    r1 = x[..., 0:1] * Rt[None, :, 2, :] - Rt[None, :, 0, :]
    r2 = x[..., 1:2] * Rt[None, :, 2, :] - Rt[None, :, 1, :]
    A = np.concatenate([r1 * w[..., None], r2 * w[..., None]], axis=1)  # (N, 2C, 4)
    n = A.shape[0]
    out = np.full((n, 3), np.nan)
    ok = (w > 0).sum(-1) >= 2
    if not ok.any():
        return out
    scale = np.abs(Rt[:, :, 3]).max() or 1.0  # condition the translation column
    A = A[ok] * np.array([1.0, 1.0, 1.0, 1.0 / scale])
    _, _, vt = np.linalg.svd(A)
    h = vt[:, -1, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        X = h[:, :3] / (h[:, 3:4] / scale)
    X[~np.isfinite(X).all(-1)] = np.nan
    out[ok] = X
    return out


def reprojection_errors(cameras: Sequence[Camera], points: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Pixel distance (N, C) between each camera's projection of points (N, 3) and observations xy (N, C, 2)."""
    proj = np.stack([project(cam, points) for cam in cameras], axis=1)
    return np.linalg.norm(proj - np.asarray(xy, np.float64), axis=-1)


def triangulate_points(
    cameras: Sequence[Camera],
    xy: np.ndarray,
    score: np.ndarray | None = None,
    *,
    min_score: float = 0.3,
    max_error: float = 15.0,
    min_views: int = 2,
) -> PointsResult:
    """Triangulate N points seen by C cameras.

    xy: (N, C, 2) distorted pixels, NaN where a view did not see the point.
    score: (N, C) confidence in [0, 1] used as DLT weight (None: all 1); views below
    ``min_score`` are not used. max_error: reprojection error in px above which the worst
    view is dropped (and the point rejected when no view can be dropped). min_views >= 2.
    """
    xy = np.asarray(xy, np.float64)
    n, c = xy.shape[:2]
    if len(cameras) != c:
        raise ValueError(f"{len(cameras)} cameras for observations of {c} views")
    s = np.ones((n, c)) if score is None else np.nan_to_num(np.asarray(score, np.float64))
    candidate = np.isfinite(xy).all(-1) & (s >= min_score)
    xn = np.stack([undistort_normalised(cam, xy[:, i]) for i, cam in enumerate(cameras)], axis=1)
    Rt = np.stack([cam.Rt for cam in cameras])
    weight = np.where(candidate, np.maximum(s, 1e-3), 0.0)
    used = candidate.copy()
    min_views = max(2, int(min_views))
    used[used.sum(-1) < min_views] = False
    points = weighted_dlt(Rt, xn, np.where(used, weight, 0.0))
    err = np.where(used, reprojection_errors(cameras, points, xy), np.nan)
    for _ in range(max(0, c - min_views)):
        worst_err = np.nanmax(np.where(used, err, -np.inf), axis=-1)
        redo = (worst_err > max_error) & (used.sum(-1) > min_views)
        if not redo.any():
            break
        worst = np.nanargmax(np.where(used, err, -np.inf), axis=-1)
        idx = np.flatnonzero(redo)
        used[idx, worst[idx]] = False
        points[idx] = weighted_dlt(Rt, xn[idx], np.where(used[idx], weight[idx], 0.0))
        err[idx] = np.where(used[idx], reprojection_errors(cameras, points[idx], xy[idx]), np.nan)
    bad = ~np.isfinite(points).all(-1) | (np.nanmax(np.where(used, err, -np.inf), axis=-1) > max_error)
    bad |= _behind(cameras, points, used)
    points[bad] = np.nan
    used[bad] = False
    err[bad] = np.nan
    return PointsResult(points=points, error=err, used=used, candidate=candidate)


def _behind(cameras: Sequence[Camera], points: np.ndarray, used: np.ndarray) -> np.ndarray:
    """(N,) True where a point lies behind any camera it was triangulated from (a DLT mirror solution)."""
    depth = np.stack([cam.depth(points) for cam in cameras], axis=1)
    return np.any(used & ~(depth > 0), axis=-1)
