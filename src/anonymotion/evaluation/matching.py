"""Which person of one video is which person of another (pure numpy + scipy).

An original and its anonymized copy show the same people at the same places, frame for
frame, but the pose model's ids are its own in each video. :func:`match_persons` pairs the
persons of each frame by keypoint distance (Hungarian assignment); a pair farther apart
than the gate is refused, so a person the model lost in the anonymized video is reported
lost (and whoever the model found instead is reported extra), never compared with
someone else.

Cost of a pair: the mean distance of the closer half of the keypoints (also against the
left/right flipped pose), divided by the original person's size (longer side of its
keypoint box). The same person measures about 0.01-0.05 under face anonymization; two
people standing side by side about 0.3 and more.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from anonymotion.track.persons import mirror_permutation, pose_cost, pose_size

#: Largest accepted cost (mean keypoint distance of the closer half / person size).
MATCH_GATE = 0.2
#: Share of keypoints left out of the cost (the farthest): limbs a model swapped or lost.
MATCH_TRIM = 0.5


@dataclass(frozen=True)
class PersonMatch:
    """Frame-by-frame pairing of the persons of a reference and a test video.

    partner: (P_ref, T) int, row index of the test person matched to each reference person
    in each frame, -1 where none (absent in the reference, or lost in the test).
    cost: (P_ref, T) float, the pair's cost (NaN where unmatched).
    extra: (P_test, T) bool, test person present but matched to nobody.
    """

    partner: np.ndarray
    cost: np.ndarray
    extra: np.ndarray


def match_persons(ref_xy: np.ndarray, test_xy: np.ndarray, names: tuple[str, ...],
                  gate: float = MATCH_GATE) -> PersonMatch:
    """Pair persons frame by frame.

    ref_xy: (P_ref, T, K, 2) px, NaN where a person is absent; test_xy: (P_test, T, K, 2)
    in the same pixel frame and the same frames (already matched by timestamp).
    """
    pr, t = ref_xy.shape[:2]
    pt = test_xy.shape[0]
    mirror = mirror_permutation(names)
    ones = np.ones(len(names), np.float32)
    partner = np.full((pr, t), -1, np.int64)
    cost_out = np.full((pr, t), np.nan)
    ref_present = np.isfinite(ref_xy).all(-1).any(-1)
    test_present = np.isfinite(test_xy).all(-1).any(-1) if pt else np.zeros((0, t), bool)
    extra = test_present.copy()
    for f in range(t):
        rs = np.flatnonzero(ref_present[:, f])
        ts = np.flatnonzero(test_present[:, f]) if pt else np.zeros(0, int)
        if not rs.size or not ts.size:
            continue
        cost = np.full((rs.size, ts.size), np.inf)
        for a, r in enumerate(rs):
            size = pose_size(ref_xy[r, f])
            for b, s in enumerate(ts):
                c = _cost(ref_xy[r, f], test_xy[s, f], ones, size, mirror)
                if c <= gate:
                    cost[a, b] = c
        ok = np.isfinite(cost)
        if not ok.any():
            continue
        rows, cols = linear_sum_assignment(np.where(ok, cost, 1e6))
        for a, b in zip(rows, cols):
            if ok[a, b]:
                partner[rs[a], f] = ts[b]
                cost_out[rs[a], f] = cost[a, b]
                extra[ts[b], f] = False
    return PersonMatch(partner=partner, cost=cost_out, extra=extra)


def _cost(a: np.ndarray, b: np.ndarray, ones: np.ndarray, size: float, mirror: np.ndarray | None) -> float:
    c = pose_cost(a, b, ones, ones, size, trim=MATCH_TRIM)
    if mirror is not None:
        c = min(c, pose_cost(a, b[mirror], ones, ones, size, trim=MATCH_TRIM))
    return c


def partner_track(test: np.ndarray, partner: np.ndarray) -> np.ndarray:
    """The matched test person's values per frame for one reference person.

    test: (P_test, T, K) scores or (P_test, T, K, D) coordinates; partner: (T,) row index
    or -1. Returns (T, K[, D]) float32: 0 (scores) or NaN (coordinates) where unmatched.
    """
    t = partner.shape[0]
    fill = 0.0 if test.ndim == 3 else np.nan
    out = np.full((t, *test.shape[2:]), fill, np.float32)
    hit = partner >= 0
    if hit.any():
        out[hit] = test[partner[hit], np.flatnonzero(hit)]
    return out
