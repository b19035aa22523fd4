"""Result types of a multi-view run and the summaries computed from them (pure numpy).

Shapes: T time slots, K keypoints (MediaPipe's 33 by default), C cameras.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Segments whose length should stay constant over a clip (proximal, distal keypoint).
SEGMENTS: dict[str, tuple[str, str]] = {
    "left_thigh": ("left_hip", "left_knee"), "right_thigh": ("right_hip", "right_knee"),
    "left_shank": ("left_knee", "left_ankle"), "right_shank": ("right_knee", "right_ankle"),
    "left_upper_arm": ("left_shoulder", "left_elbow"), "right_upper_arm": ("right_shoulder", "right_elbow"),
    "left_forearm": ("left_elbow", "left_wrist"), "right_forearm": ("right_elbow", "right_wrist"),
}


@dataclass(frozen=True)
class Person3D:
    """One person's triangulated keypoints over the run.

    points: (T, K, 3) world mm, NaN where not triangulated.
    error: (T, K, C) float32 reprojection error in px of each camera used (NaN: not used).
    used: (T, K, C) bool, the views each point was triangulated from.
    members: (T, C) int16, index of this person in each view's 2D person list (-1: not seen there).
    implausible: keypoint-frames removed because the point jumped away and back faster than a
    body moves (see :func:`speed_spikes`).
    """

    id: str
    points: np.ndarray
    error: np.ndarray
    used: np.ndarray
    members: np.ndarray
    implausible: int = 0

    @property
    def present(self) -> np.ndarray:
        """(T,) bool: slots where any keypoint of the person was triangulated."""
        return np.isfinite(self.points).all(-1).any(-1)

    @property
    def views(self) -> np.ndarray:
        """(T, K) int: views each keypoint was triangulated from (0 where NaN)."""
        return np.where(np.isfinite(self.points).all(-1), self.used.sum(-1), 0)

    @property
    def mean_error(self) -> np.ndarray:
        """(T, K) mean reprojection error (px) over the views used, NaN where not triangulated."""
        with np.errstate(invalid="ignore"):
            e = np.where(self.used, self.error, np.nan)
            n = self.used.sum(-1)
            return np.where(n > 0, np.nansum(np.nan_to_num(e, nan=0.0), -1) / np.maximum(n, 1), np.nan)


@dataclass(frozen=True)
class MultiviewResult:
    """Every 3D person of a multi-view run.

    t: (T,) seconds of the time slots. names: K keypoint names. cameras: C camera names.
    view_present: (T, C) bool, whether each view had a frame in each slot. up: (3,) world
    vertical unit vector. videos: the input videos (same order as cameras).
    """

    t: np.ndarray
    names: tuple[str, ...]
    cameras: tuple[str, ...]
    persons: tuple[Person3D, ...]
    view_present: np.ndarray
    up: np.ndarray
    videos: tuple[Path, ...] = ()

    def person(self, person_id: str) -> Person3D:
        for p in self.persons:
            if p.id == person_id:
                return p
        raise KeyError(person_id)


def speed_spikes(points: np.ndarray, t: np.ndarray, max_speed: float) -> np.ndarray:
    """(T, K) bool: keypoints that moved faster than ``max_speed`` (mm/s) both from the previous
    and to the next frame in which they were triangulated, i.e. one-frame excursions (a view
    pair agreeing on a wrong point). points: (T, K, 3) mm, t: (T,) s.
    """
    pts = np.asarray(points, np.float64)
    out = np.zeros(pts.shape[:2], bool)
    for k in range(pts.shape[1]):
        idx = np.flatnonzero(np.isfinite(pts[:, k]).all(-1))
        if idx.size < 3:
            continue
        step = np.linalg.norm(np.diff(pts[idx, k], axis=0), axis=-1)
        dt = np.maximum(np.diff(t[idx]), 1e-6)
        fast = step / dt > max_speed
        out[idx[1:-1][fast[:-1] & fast[1:]], k] = True
    return out


def segment_lengths(points: np.ndarray, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Length (T,) in mm of each of :data:`SEGMENTS` (NaN where an end is missing)."""
    out = {}
    for seg, (a, b) in SEGMENTS.items():
        out[seg] = np.linalg.norm(points[:, names.index(b)] - points[:, names.index(a)], axis=-1)
    return out


def coefficient_of_variation(values: np.ndarray) -> float:
    """SD / mean of the finite values (NaN with fewer than 2)."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    if v.size < 2 or v.mean() == 0:
        return float("nan")
    return float(v.std(ddof=1) / v.mean())


def reprojection_table(result: MultiviewResult, person: Person3D) -> list[dict]:
    """Rows per camera and keypoint (plus camera "all" and keypoint "all"): median and 95th percentile
    reprojection error (px), frames the camera was used for the keypoint, frames the camera saw the
    person but its keypoint was not used (low score or dropped for its error: ``not_used``), and mean views per triangulated point."""
    rows = []
    cams = list(result.cameras) + ["all"]
    names = list(result.names) + ["all"]
    finite = np.isfinite(person.points).all(-1)  # (T, K)
    for ci, cam in enumerate(cams):
        for ki, kp in enumerate(names):
            csel = slice(None) if cam == "all" else slice(ci, ci + 1)
            ksel = slice(None) if kp == "all" else slice(ki, ki + 1)
            used = person.used[:, ksel, csel]
            err = person.error[:, ksel, csel][used]
            seen = (person.members[:, csel] >= 0)[:, None, :] & finite[:, ksel, None]
            rows.append({
                "person": person.id, "camera": cam, "keypoint": kp,
                "frames_used": int(used.sum()),
                "median_px": float(np.median(err)) if err.size else float("nan"),
                "p95_px": float(np.percentile(err, 95)) if err.size else float("nan"),
                "views_mean": float(person.views[:, ksel][finite[:, ksel]].mean()) if finite[:, ksel].any()
                else float("nan"),
                "not_used": int((seen & ~used).sum()),
            })
    return rows
