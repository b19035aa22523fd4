"""Which 2D person in each view is the same 3D person (one frame), by epipolar consistency.

For every pair of views and every pair of persons in them, the cost is the median
symmetric epipolar distance (px, undistorted) over the keypoints both see with enough
confidence. Groups are grown greedily from the cheapest pair: two groups merge when they
share no view and *every* cross pair between them costs less than ``max_epipolar`` px
(complete linkage, so a chance alignment along one epipolar line does not join two
people when a third view disagrees). Each group then holds at most one person per view.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from anonymotion.multiview.camera import Camera, epipolar_distance, fundamental, undistort_pixels


@dataclass(frozen=True)
class Person2D:
    """One person in one view and frame: xy (K, 2) distorted px (NaN missing), score (K,) in [0, 1].

    track_id: the pose backend's id of this person within its view (-1 when it gives none).
    """

    xy: np.ndarray
    score: np.ndarray
    track_id: int = -1


#: A group: view index -> index of the person in that view's list.
Group = dict[int, int]


class EpipolarAssociator:
    """Cross-view association for a fixed set of cameras (fundamental matrices computed once)."""

    def __init__(self, cameras: Sequence[Camera], *, min_score: float = 0.3, max_epipolar: float = 40.0,
                 min_keypoints: int = 5) -> None:
        self.cameras = tuple(cameras)
        self.min_score = min_score
        self.max_epipolar = max_epipolar
        self.min_keypoints = min_keypoints
        self._F = {(a, b): fundamental(self.cameras[a], self.cameras[b])
                   for a, b in combinations(range(len(self.cameras)), 2)}

    def pair_cost(self, a: int, pa: Person2D, b: int, pb: Person2D) -> float:
        """Median symmetric epipolar distance (px) of the keypoints both persons show; inf when too few."""
        both = (pa.score >= self.min_score) & (pb.score >= self.min_score)
        both &= np.isfinite(pa.xy).all(-1) & np.isfinite(pb.xy).all(-1)
        if both.sum() < self.min_keypoints:
            return float("inf")
        xa = undistort_pixels(self.cameras[a], pa.xy[both])
        xb = undistort_pixels(self.cameras[b], pb.xy[both])
        d = epipolar_distance(self._F[(a, b)], xa, xb)
        return float(np.median(d))

    def associate(self, views: Sequence[Sequence[Person2D] | None]) -> list[Group]:
        """Groups (view -> person index) of the persons in ``views`` (None = view missing this frame).

        Persons matched in no other view come back as single-view groups.
        """
        if len(views) != len(self.cameras):
            raise ValueError(f"{len(views)} views for {len(self.cameras)} cameras")
        nodes = [(v, i) for v, persons in enumerate(views) if persons for i in range(len(persons))]
        cost: dict[tuple[tuple[int, int], tuple[int, int]], float] = {}
        for (a, i), (b, j) in combinations(nodes, 2):
            if a == b:
                continue
            c = self.pair_cost(a, views[a][i], b, views[b][j])  # type: ignore[index]
            cost[((a, i), (b, j))] = cost[((b, j), (a, i))] = c
        group_of: dict[tuple[int, int], int] = {n: k for k, n in enumerate(nodes)}
        members: dict[int, list[tuple[int, int]]] = {k: [n] for k, n in enumerate(nodes)}
        edges = sorted((c, n1, n2) for (n1, n2), c in cost.items() if n1 < n2 and c < self.max_epipolar)
        for _, n1, n2 in edges:
            g1, g2 = group_of[n1], group_of[n2]
            if g1 == g2:
                continue
            m1, m2 = members[g1], members[g2]
            if {v for v, _ in m1} & {v for v, _ in m2}:
                continue
            if all(cost.get((x, y), np.inf) < self.max_epipolar for x in m1 for y in m2):
                for n in m2:
                    group_of[n] = g1
                m1.extend(m2)
                del members[g2]
        groups = [dict(sorted(m)) for m in members.values()]
        return sorted(groups, key=lambda g: (-len(g), sorted(g.items())))
