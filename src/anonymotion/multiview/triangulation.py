"""Confidence-weighted DLT triangulation with reprojection-based camera rejection (pure numpy).

Shapes: C cameras, N points (any leading axes flattened by the caller). Pixels are the
distorted pixels of each camera's upright video frames; 3D points are world mm.

Algorithm per point (after Pose2Sim): triangulate from every view whose score is at least
``min_score``; while the reprojection error of any view used exceeds ``max_error`` px and
more than ``min_views`` views are used, try every combination with one view fewer and keep
the one whose worst view has the lowest error; a point still above ``max_error`` (or seen
in fewer than ``min_views`` views, or behind a camera it was triangulated from) is NaN.
Pose2Sim thresholds the *mean* error over the views; the worst view is used here because
on lab_single a limb swapped in one of four views (e.g. 40 px off while the others agree
within 8 px) kept a mean under 15 px and pulled the point by centimetres.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

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
    max_error: float = 40.0,
    min_views: int = 2,
) -> PointsResult:
    """Triangulate N points seen by C cameras.

    xy: (N, C, 2) distorted pixels, NaN where a view did not see the point.
    score: (N, C) confidence in [0, 1] used as DLT weight (None: all 1); views below
    ``min_score`` are not used. max_error: reprojection error in px that no view used may
    exceed: otherwise views are excluded (every combination with one view fewer is tried and
    the one whose worst view has the lowest error kept, then two fewer, ...) and a point that
    cannot get below it is rejected (NaN). min_views >= 2.
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
    min_views = max(2, int(min_views))
    used = candidate & (candidate.sum(-1, keepdims=True) >= min_views)
    points = weighted_dlt(Rt, xn, np.where(used, weight, 0.0))
    err = np.where(used, reprojection_errors(cameras, points, xy), np.nan)
    worst = _worst_error(err, used)
    for size in range(c - 1, min_views - 1, -1):
        redo = np.flatnonzero((worst > max_error) & (used.sum(-1) > size))
        if redo.size == 0:
            continue
        best = np.full(redo.size, np.inf)
        for subset in combinations(range(c), size):
            mask = np.zeros(c, bool)
            mask[list(subset)] = True
            u = candidate[redo] & mask
            ok = u.sum(-1) == size
            if not ok.any():
                continue
            pts = weighted_dlt(Rt, xn[redo], np.where(u, weight[redo], 0.0))
            e = np.where(u, reprojection_errors(cameras, pts, xy[redo]), np.nan)
            m = _worst_error(e, u)
            better = ok & (m < best)
            sel = redo[better]
            best[better] = m[better]
            points[sel], err[sel], used[sel] = pts[better], e[better], u[better]
        worst[redo] = best
    bad = ~np.isfinite(points).all(-1) | ~(worst <= max_error) | _behind(cameras, points, used)
    points[bad] = np.nan
    used[bad] = False
    err[bad] = np.nan
    return PointsResult(points=points, error=err, used=used, candidate=candidate)


def _worst_error(err: np.ndarray, used: np.ndarray) -> np.ndarray:
    """(N,) largest err (N, C) among the used views; inf where no view is used or an error is NaN."""
    m = np.where(used, np.nan_to_num(err, nan=np.inf), -np.inf).max(-1)
    return np.where(used.any(-1) & np.isfinite(m), m, np.inf)


def _behind(cameras: Sequence[Camera], points: np.ndarray, used: np.ndarray) -> np.ndarray:
    """(N,) True where a point lies behind any camera it was triangulated from (a DLT mirror solution)."""
    depth = np.stack([cam.depth(points) for cam in cameras], axis=1)
    return np.any(used & ~(depth > 0), axis=-1)
