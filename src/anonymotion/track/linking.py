"""Linking detections to tracks: box overlap, centre distance, the scene's common motion.

Pure numpy (and scipy's Hungarian solver) on boxes (N, 4) x1, y1, x2, y2 in pixels.
"""

from __future__ import annotations

import numpy as np

CENTRE_FRACTION = 0.75  # detections whose centre is this close (x box size) to a track may link


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in a (N, 4) with every box in b (M, 4), boxes x1, y1, x2, y2 -> (N, M)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float64)
    a = a.astype(np.float64)[:, None, :]
    b = b.astype(np.float64)[None, :, :]
    w = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    h = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = w * h
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return inter / np.maximum(area_a + area_b - inter, 1e-9)


def centres(boxes: np.ndarray) -> np.ndarray:
    """(N, 2) centres of (N, 4) boxes."""
    return (boxes[:, :2] + boxes[:, 2:]) / 2


def common_shift(preds: np.ndarray, dets: np.ndarray, min_pairs: int = 3) -> np.ndarray:
    """Median displacement (2,) px from predicted boxes to their nearest detections.

    Pairs farther apart than twice the box size (at least 24 px) are ignored; with fewer
    than ``min_pairs`` pairs the shift is zero. This absorbs a camera pan the velocities
    have not caught up with yet.
    """
    if len(preds) < min_pairs or len(dets) == 0:
        return np.zeros(2)
    cp, cd = centres(preds), centres(dets)
    diff = cd[None, :, :] - cp[:, None, :]
    dist = np.linalg.norm(diff, axis=2)
    nearest = dist.argmin(axis=1)
    size = np.max(preds[:, 2:] - preds[:, :2], axis=1)
    rows = np.arange(len(preds))
    ok = dist[rows, nearest] < np.maximum(2 * size, 24.0)
    if ok.sum() < min_pairs:
        return np.zeros(2)
    return np.median(diff[rows[ok], nearest[ok]], axis=0)


def match(tracks: np.ndarray, dets: np.ndarray, iou: float) -> list[tuple[int, int]]:
    """Pairs (track row, detection row) linking predicted track boxes to detections.

    A pair is allowed when IoU >= ``iou`` or when the centres are closer than 0.75 x the
    larger box's size (small faces moving a few px have no IoU left). Among allowed pairs the
    assignment minimises (1 - IoU) + normalised centre distance (scipy's Hungarian solver).
    """
    if len(tracks) == 0 or len(dets) == 0:
        return []
    from scipy.optimize import linear_sum_assignment

    ious = iou_matrix(tracks, dets)
    st = np.max(tracks[:, 2:] - tracks[:, :2], axis=1)
    sd = np.max(dets[:, 2:] - dets[:, :2], axis=1)
    size = np.maximum(np.maximum(st[:, None], sd[None, :]), 1.0)
    dist = np.linalg.norm(centres(tracks)[:, None, :] - centres(dets)[None, :, :], axis=2) / size
    ok = (ious >= iou) | (dist < CENTRE_FRACTION)
    if not ok.any():
        return []
    cost = np.where(ok, (1.0 - ious) + dist, 1e6)
    rows, cols = linear_sum_assignment(cost)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if ok[r, c]]
