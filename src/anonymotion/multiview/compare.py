"""One triangulation against another (original vs anonymized views): MPJPE per joint and 3D angle agreement.

Time slots are matched by timestamp; each person of the reference run is matched to the
person of the test run whose keypoints lie closest (median distance over shared frames,
optimal assignment, at most ``max_distance`` mm). All distances are world mm, angles degrees.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from anonymotion.kinematics.angles3d import angles_3d
from anonymotion.metrics.angles import angle_stats
from anonymotion.multiview.results import MultiviewResult, Person3D
from anonymotion.pose.skeletons import COCO_17

#: Joints MPJPE averages: the COCO-17 set (nose, eyes, ears, shoulders, elbows, wrists, hips, knees,
#: ankles). MediaPipe's further face, hand and foot landmarks are reported per keypoint, not averaged.
MPJPE_JOINTS: tuple[str, ...] = COCO_17


@dataclass(frozen=True)
class PersonComparison:
    """One reference person against its match in a test run (None when no match).

    t: (T,) matched slot times (s). errors: (T, K) mm distance per keypoint (NaN where either
    run lacks the point), keypoints ``names``. angles_ref / angles_test: (T, A) degrees; angle_rows: per angle
    n, rmse, bias, sd, max_abs, within_5deg_pct (test − reference); diff: (T, A) degrees.
    """

    person: str
    match: str | None
    t: np.ndarray
    errors: np.ndarray
    angle_names: tuple[str, ...]
    angles_ref: np.ndarray
    angles_test: np.ndarray
    angle_rows: list[dict]
    diff: np.ndarray

    names: tuple[str, ...] = ()

    @property
    def mpjpe(self) -> float:
        """MPJPE (mm): mean over the COCO-17 joints (:data:`MPJPE_JOINTS`) of each joint's mean error."""
        return self.mpjpe_over(MPJPE_JOINTS)

    def mpjpe_over(self, joints: tuple[str, ...] | None = None) -> float:
        """Mean over ``joints`` (None: every keypoint) of each joint's mean error (mm); NaN when none is comparable."""
        per_joint = joint_means(self.errors)
        if joints is not None and self.names:
            per_joint = per_joint[[self.names.index(j) for j in joints if j in self.names]]
        return float(np.mean(per_joint[np.isfinite(per_joint)])) if np.isfinite(per_joint).any() else float("nan")

    @property
    def frames(self) -> int:
        """Slots in which at least one joint was compared."""
        return int(np.isfinite(self.errors).any(-1).sum())


def joint_means(errors: np.ndarray) -> np.ndarray:
    """(K,) mean error per joint over finite frames (NaN where none)."""
    e = np.asarray(errors, np.float64)
    n = np.isfinite(e).sum(0)
    with np.errstate(invalid="ignore"):
        return np.where(n > 0, np.nansum(np.nan_to_num(e, nan=0.0), 0) / np.maximum(n, 1), np.nan)


def joint_sds(errors: np.ndarray) -> np.ndarray:
    """(K,) SD (ddof 1) of the error per joint; NaN with fewer than 2 frames."""
    e = np.asarray(errors, np.float64)
    out = np.full(e.shape[1], np.nan)
    for k in range(e.shape[1]):
        v = e[:, k][np.isfinite(e[:, k])]
        if v.size > 1:
            out[k] = v.std(ddof=1)
    return out


def align_slots(t_ref: np.ndarray, t_test: np.ndarray, tolerance: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (ri, ti) of slots whose times agree within ``tolerance`` s (default: half the median interval)."""
    t_ref, t_test = np.asarray(t_ref, np.float64), np.asarray(t_test, np.float64)
    if t_ref.size == 0 or t_test.size == 0:
        return np.zeros(0, int), np.zeros(0, int)
    if tolerance is None:
        dt = np.diff(t_ref)
        tolerance = 0.5 * float(np.median(dt)) if dt.size else 1e-3
    j = np.clip(np.searchsorted(t_test, t_ref), 1, max(1, t_test.size - 1))
    left = np.clip(j - 1, 0, t_test.size - 1)
    right = np.clip(j, 0, t_test.size - 1)
    best = np.where(np.abs(t_test[left] - t_ref) <= np.abs(t_test[right] - t_ref), left, right)
    ok = np.abs(t_test[best] - t_ref) <= tolerance
    return np.flatnonzero(ok), best[ok]


def _median_distance(a: np.ndarray, b: np.ndarray) -> float:
    d = np.linalg.norm(a - b, axis=-1)
    d = d[np.isfinite(d)]
    return float(np.median(d)) if d.size else float("inf")


def match_persons(ref: MultiviewResult, test: MultiviewResult, *, max_distance: float = 300.0
                  ) -> dict[str, str | None]:
    """Reference person id -> test person id (or None): optimal assignment by median keypoint distance (mm)."""
    from scipy.optimize import linear_sum_assignment

    ri, ti = align_slots(ref.t, test.t)
    out: dict[str, str | None] = {p.id: None for p in ref.persons}
    if not ref.persons or not test.persons or ri.size == 0:
        return out
    cost = np.array([[_median_distance(p.points[ri], q.points[ti]) for q in test.persons] for p in ref.persons])
    rows, cols = linear_sum_assignment(np.where(np.isfinite(cost), cost, 1e12))
    for r, c in zip(rows, cols):
        if cost[r, c] <= max_distance:
            out[ref.persons[r].id] = test.persons[c].id
    return out


def compare_person(ref: MultiviewResult, person: Person3D, test: MultiviewResult, match: Person3D | None
                   ) -> PersonComparison:
    """Joint errors and angle agreement of ``person`` (in ``ref``) against ``match`` (in ``test``)."""
    ri, ti = align_slots(ref.t, test.t)
    ref_pts = person.points[ri]
    test_pts = match.points[ti] if match is not None else np.full_like(ref_pts, np.nan)
    errors = np.linalg.norm(test_pts - ref_pts, axis=-1)
    a_ref, names = angles_3d(ref_pts, ref.names, up=ref.up)
    a_test, _ = angles_3d(test_pts, test.names, up=test.up)
    rows, diff = angle_stats(a_ref, a_test, np.isfinite(a_ref).astype(np.float32),
                             np.isfinite(a_test).astype(np.float32), names, (False,) * len(names),
                             ref_present=np.isfinite(ref_pts).all(-1).any(-1),
                             test_present=np.isfinite(test_pts).all(-1).any(-1))
    return PersonComparison(person=person.id, match=match.id if match is not None else None, t=ref.t[ri],
                            errors=errors, angle_names=names, angles_ref=a_ref, angles_test=a_test,
                            angle_rows=rows, diff=diff, names=tuple(ref.names))


def compare_runs(ref: MultiviewResult, test: MultiviewResult, *, max_distance: float = 300.0
                 ) -> list[PersonComparison]:
    """Every reference person against its match in ``test`` (unmatched persons: all-NaN errors)."""
    matches = match_persons(ref, test, max_distance=max_distance)
    by_id = {q.id: q for q in test.persons}
    return [compare_person(ref, p, test, by_id.get(matches[p.id]) if matches[p.id] else None)
            for p in ref.persons]
