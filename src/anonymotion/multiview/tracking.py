"""Frame-by-frame multi-view engine: associate persons across views, triangulate, keep 3D identities.

:class:`MultiviewTriangulator` is fed one time slot at a time (the persons each view's
pose backend found, None for a view missing that frame) and keeps only small arrays
(keypoints, errors), never frames. A 3D person keeps its id from frame to frame when its
pose moved less than
``max_speed * dt + gate`` mm since it was last seen (optimal assignment by distance);
otherwise a new person starts. The distance between a person's two poses is the median over
the keypoints triangulated in both of their displacement (a limb swinging or a keypoint
missing does not move it much, unlike a centroid), or of their centres when they share
fewer than three keypoints.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from anonymotion.config import option
from anonymotion.multiview.association import EpipolarAssociator, Group, Person2D
from anonymotion.multiview.camera import Camera
from anonymotion.multiview.results import MultiviewResult, Person3D, speed_spikes
from anonymotion.multiview.triangulation import PointsResult, triangulate_points

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TriangulationConfig:
    """Thresholds of the multi-view engine (the CLI options of ``triangulate``, ``evaluate --calibration``
    and ``anonymize --calibration`` are generated from the fields that have a flag).

    min_score: keypoint confidence a view needs to take part. max_error: px of reprojection
    error no view used for a point may exceed. Pose2Sim uses 15 px; on lab_single (MediaPipe,
    1088x1920 views, whose views disagree by 10-15 px) 15 px made the choice of views flip
    with codec noise: a crf-18 re-encode moved the 3D points by 13.8 mm (mean over the 33
    keypoints) against 5.2 mm at 40 px, with the segment lengths no less stable (max CV of
    thigh/shank/upper arm 0.074 at 15 px, 0.051 at 40 px). 40 px still removes limb swaps. min_views: views a point
    needs (>= 2). max_epipolar: px, association threshold. min_keypoints: triangulated
    keypoints a group needs to count as a person in a frame. max_speed (mm/s) and gate (mm):
    identity gating between frames. max_gap: s a person may be unseen and keep its id.
    min_frames: persons seen in fewer frames are dropped as spurious. max_keypoint_speed
    (mm/s): a keypoint that jumps away and back faster than this is removed in that frame
    (counted as implausible); 15 m/s is above any limb's speed in gait or rehabilitation.
    """

    min_score: float = option(0.3, "keypoint confidence a view needs to take part in triangulation, 0-1 "
                                   "(default 0.3)", type=float)
    max_error: float = option(40.0, "reprojection error in px no view of a 3D point may exceed: otherwise views "
                                    "are excluded (best combination kept) and the point re-triangulated; a point "
                                    "still above it is left out (default 40)", type=float)
    min_views: int = option(2, "", cli=False)
    max_epipolar: float = option(40.0, "persons of two views are one person when their keypoints lie within this "
                                       "median epipolar distance in px (default 40)", type=float)
    min_keypoints: int = option(8, "", cli=False)
    max_speed: float = option(4000.0, "", cli=False)
    gate: float = option(400.0, "", cli=False)
    max_gap: float = option(1.0, "", cli=False)
    min_frames: int = option(3, "", cli=False)
    max_keypoint_speed: float = option(15000.0, "", cli=False)

    def validated(self) -> "TriangulationConfig":
        """Return self after checking the values a user sets; ConfigError names the option."""
        from anonymotion.errors import ConfigError

        if not 0 <= self.min_score < 1:
            raise ConfigError(None, f"--min-score must be in [0, 1), not {self.min_score}")
        if not self.max_error > 0 or not self.max_epipolar > 0:
            raise ConfigError(None, "--max-error and --max-epipolar must be positive pixel distances")
        if self.min_views < 2:
            raise ConfigError(None, "a 3D point needs at least 2 views")
        return self


@dataclass
class _Track:
    key: int
    pose: np.ndarray  # (K, 3) mm, the last triangulated keypoints
    last_t: float
    frames: dict[int, tuple[PointsResult, dict[int, int]]] = field(default_factory=dict)


@dataclass(frozen=True)
class FramePerson:
    """A 3D person in one time slot: ``track`` (internal key), points (K, 3) mm, the views' persons used."""

    track: int
    points: PointsResult
    group: Group


def pose_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Distance (mm) between two poses (K, 3): median displacement of their shared keypoints, else of their centres."""
    both = np.isfinite(a).all(-1) & np.isfinite(b).all(-1)
    if both.sum() >= 3:
        return float(np.median(np.linalg.norm(a[both] - b[both], axis=-1)))
    ca, cb = np.nanmedian(a, axis=0), np.nanmedian(b, axis=0)
    return float(np.linalg.norm(ca - cb))


class MultiviewTriangulator:
    """Online association + triangulation + 3D identity over synchronised time slots."""

    def __init__(self, cameras: Sequence[Camera], names: Sequence[str], config: TriangulationConfig | None = None,
                 *, up: Sequence[float] = (0.0, 0.0, 1.0)) -> None:
        self.cameras = tuple(cameras)
        self.names = tuple(names)
        self.config = config or TriangulationConfig()
        self.up = tuple(float(u) for u in up)
        self.associator = EpipolarAssociator(self.cameras, min_score=self.config.min_score,
                                             max_epipolar=self.config.max_epipolar)
        self._tracks: list[_Track] = []
        self._t: list[float] = []
        self._present: list[tuple[bool, ...]] = []
        self._next_key = 0

    def triangulate_group(self, views: Sequence[Sequence[Person2D] | None], group: Group) -> PointsResult:
        """Triangulate the persons of one group: (K,) points with per-view errors."""
        k, c = len(self.names), len(self.cameras)
        xy = np.full((k, c, 2), np.nan)
        score = np.zeros((k, c))
        for v, i in group.items():
            person = views[v][i]  # type: ignore[index]
            xy[:, v] = person.xy
            score[:, v] = person.score
        cfg = self.config
        return triangulate_points(self.cameras, xy, score, min_score=cfg.min_score, max_error=cfg.max_error,
                                  min_views=cfg.min_views)

    def update(self, t: float, views: Sequence[Sequence[Person2D] | None]) -> list[FramePerson]:
        """Process one time slot; returns the 3D persons found in it (with their track keys)."""
        index = len(self._t)
        self._t.append(float(t))
        self._present.append(tuple(v is not None for v in views))
        found: list[tuple[PointsResult, Group]] = []
        for group in self.associator.associate(views):
            if len(group) < self.config.min_views:
                continue
            res = self.triangulate_group(views, group)
            ok = np.isfinite(res.points).all(-1)
            if ok.sum() < self.config.min_keypoints:
                continue
            found.append((res, group))
        keys = self._assign(t, [res.points for res, _ in found])
        out = []
        for (res, group), key in zip(found, keys):
            track = next(tr for tr in self._tracks if tr.key == key)
            track.pose, track.last_t = res.points, float(t)
            track.frames[index] = (res, group)
            out.append(FramePerson(track=key, points=res, group=group))
        return out

    def _assign(self, t: float, poses: list[np.ndarray]) -> list[int]:
        """Track key for each pose (K, 3): optimal assignment to live tracks within the gate, else new tracks."""
        from scipy.optimize import linear_sum_assignment

        cfg = self.config
        live = [tr for tr in self._tracks if t - tr.last_t <= cfg.max_gap]
        keys: list[int | None] = [None] * len(poses)
        if live and poses:
            d = np.array([[pose_distance(p, tr.pose) for tr in live] for p in poses])
            limit = np.array([cfg.max_speed * max(t - tr.last_t, 0.0) + cfg.gate for tr in live])
            cost = np.where(d <= limit[None, :], d, 1e12)
            rows, cols = linear_sum_assignment(cost)
            for r, c in zip(rows, cols):
                if cost[r, c] < 1e12:
                    keys[r] = live[c].key
        for i, key in enumerate(keys):
            if key is None:
                self._tracks.append(_Track(self._next_key, poses[i], t))
                keys[i] = self._next_key
                self._next_key += 1
        return [int(k) for k in keys]  # type: ignore[arg-type]

    def finish(self) -> MultiviewResult:
        """The persons as arrays over all slots, largest first (person1 = most keypoints triangulated)."""
        n, k, c = len(self._t), len(self.names), len(self.cameras)
        t = np.asarray(self._t, np.float64)
        persons = []
        for tr in self._tracks:
            if len(tr.frames) < self.config.min_frames:
                log.info("dropped a 3D person seen in only %d frame(s)", len(tr.frames))
                continue
            points = np.full((n, k, 3), np.nan)
            error = np.full((n, k, c), np.nan, np.float32)
            used = np.zeros((n, k, c), bool)
            members = np.full((n, c), -1, np.int16)
            for i, (res, group) in tr.frames.items():
                points[i], error[i], used[i] = res.points, res.error, res.used
                for v, p in group.items():
                    members[i, v] = p
            spikes = speed_spikes(points, t, self.config.max_keypoint_speed)
            points[spikes], error[spikes], used[spikes] = np.nan, np.nan, False
            persons.append(Person3D(id="", points=points, error=error, used=used, members=members,
                                    implausible=int(spikes.sum())))
        persons.sort(key=lambda p: -int(np.isfinite(p.points).all(-1).sum()))
        persons = [replace(p, id=f"person{i + 1}") for i, p in enumerate(persons)]
        return MultiviewResult(
            t=t,
            names=self.names,
            cameras=tuple(cam.name for cam in self.cameras),
            persons=tuple(persons),
            view_present=np.array(self._present, bool).reshape(n, c),
            up=np.asarray(self.up, np.float64),
        )
