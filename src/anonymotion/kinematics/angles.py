"""Table-driven 2D joint angles in the image plane, with a confidence per angle.

Conventions (degrees; image x to the right, y down; every angle is NaN where one of its
keypoints is missing or two of them coincide):

- ``flexion`` at joint B of A-B-C: 180° − ∠ABC, so 0° for a straight limb and positive
  in flexion (a right angle at the knee is 90°). Unsigned in 2D. Knee (hip-knee-ankle),
  elbow (shoulder-elbow-wrist), hip (shoulder-hip-knee).
- ``between`` at joint B of A-B-C: ∠ABC itself. Shoulder (hip-shoulder-elbow): 0° with
  the arm hanging along the trunk, 90° horizontal, 180° overhead.
- ``ankle``: ∠(knee, ankle, foot_index) − 90°: 0° with the foot perpendicular to the
  shank, positive in plantar flexion, negative in dorsiflexion.
- ``inclination`` of segment A→B from the image vertical (up): signed, positive when B
  leans to the image right of A, in (−180°, 180°]. Trunk: mid-hip → mid-shoulder.
- ``relative`` of segment C→D against segment A→B: signed angle from A→B to C→D,
  positive clockwise on screen, in (−180°, 180°]. Neck: trunk (mid-hip → mid-shoulder)
  against head (mid-shoulder → mid-ear).

The confidence of an angle is the minimum score of the keypoints it uses (derived points
such as mid-hip take the minimum of their sources).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from anonymotion.pose.skeletons import point


@dataclass(frozen=True)
class AngleDef:
    """One angle: its name, kind (see module docstring), keypoints and written convention."""

    name: str
    kind: str
    points: tuple[str, ...]
    convention: str
    wraps: bool = False  # True for signed angles whose differences wrap at ±180°


def _flex(name: str, a: str, b: str, c: str, what: str) -> AngleDef:
    return AngleDef(name, "flexion", (a, b, c), f"{what}: 180° − ∠({a}, {b}, {c}); 0° straight, + flexion")


#: The 2D angle table. Left knee and left elbow first (what the studies' web app showed).
ANGLES_2D: tuple[AngleDef, ...] = (
    _flex("left_knee", "left_hip", "left_knee", "left_ankle", "knee flexion"),
    _flex("left_elbow", "left_shoulder", "left_elbow", "left_wrist", "elbow flexion"),
    _flex("right_knee", "right_hip", "right_knee", "right_ankle", "knee flexion"),
    _flex("right_elbow", "right_shoulder", "right_elbow", "right_wrist", "elbow flexion"),
    _flex("left_hip", "left_shoulder", "left_hip", "left_knee", "hip flexion"),
    _flex("right_hip", "right_shoulder", "right_hip", "right_knee", "hip flexion"),
    AngleDef("left_shoulder", "between", ("left_hip", "left_shoulder", "left_elbow"),
             "shoulder elevation: ∠(hip, shoulder, elbow); 0° arm along trunk, 90° horizontal"),
    AngleDef("right_shoulder", "between", ("right_hip", "right_shoulder", "right_elbow"),
             "shoulder elevation: ∠(hip, shoulder, elbow); 0° arm along trunk, 90° horizontal"),
    AngleDef("left_ankle", "ankle", ("left_knee", "left_ankle", "left_foot_index"),
             "ankle: ∠(knee, ankle, foot index) − 90°; 0° foot ⟂ shank, + plantar flexion"),
    AngleDef("right_ankle", "ankle", ("right_knee", "right_ankle", "right_foot_index"),
             "ankle: ∠(knee, ankle, foot index) − 90°; 0° foot ⟂ shank, + plantar flexion"),
    AngleDef("trunk", "inclination", ("mid_hip", "mid_shoulder"),
             "trunk inclination: mid-hip → mid-shoulder from image vertical; + leaning image-right",
             wraps=True),
    AngleDef("neck", "relative", ("mid_hip", "mid_shoulder", "mid_shoulder", "mid_ear"),
             "neck: head (mid-shoulder → mid-ear) against trunk; signed, + clockwise on screen",
             wraps=True),
)

ANGLE_NAMES_2D: tuple[str, ...] = tuple(a.name for a in ANGLES_2D)

_EPS = 1e-6


def vertex_angle(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """∠ABC in degrees in [0, 180] for points (..., D); NaN where |BA| or |BC| is ~0 or missing."""
    u = np.asarray(a, np.float64) - b
    v = np.asarray(c, np.float64) - b
    nu = np.linalg.norm(u, axis=-1)
    nv = np.linalg.norm(v, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.sum(u * v, axis=-1) / (nu * nv)
        ang = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    return np.where((nu > _EPS) & (nv > _EPS), ang, np.nan)


def inclination(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Signed angle (degrees, (−180, 180]) of A→B from image-up, + towards image right."""
    d = np.asarray(b, np.float64) - a
    n = np.linalg.norm(d, axis=-1)
    ang = np.degrees(np.arctan2(d[..., 0], -d[..., 1]))
    return np.where(n > _EPS, ang, np.nan)


def wrap180(deg: np.ndarray) -> np.ndarray:
    """Map degrees to (−180, 180]."""
    return 180.0 - np.mod(180.0 - np.asarray(deg, np.float64), 360.0)


def relative_angle(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Signed angle (degrees) from segment A→B to segment C→D, + clockwise on screen (y down)."""
    return wrap180(inclination(c, d) - inclination(a, b))


def angle_2d(defn: AngleDef, xy: np.ndarray, score: np.ndarray, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """One angle over frames: xy (..., K, 2) pixels, score (..., K) -> (angle (...), confidence (...))."""
    pts, scs = zip(*(point(xy, score, names, p) for p in defn.points))
    conf = np.min(np.stack(scs, axis=-1), axis=-1).astype(np.float32)
    if defn.kind == "flexion":
        ang = 180.0 - vertex_angle(*pts)
    elif defn.kind == "between":
        ang = vertex_angle(*pts)
    elif defn.kind == "ankle":
        ang = vertex_angle(*pts) - 90.0
    elif defn.kind == "inclination":
        ang = inclination(*pts)
    elif defn.kind == "relative":
        ang = relative_angle(*pts)
    else:  # pragma: no cover - table error
        raise ValueError(f"unknown angle kind {defn.kind!r}")
    conf = np.where(np.isfinite(ang), conf, 0.0).astype(np.float32)
    return ang.astype(np.float64), conf


def angles_2d(
    xy: np.ndarray, score: np.ndarray, names: tuple[str, ...], table: tuple[AngleDef, ...] = ANGLES_2D
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """All table angles: xy (T, K, 2), score (T, K) -> angles (T, A) degrees, confidence (T, A), names."""
    cols = [angle_2d(d, xy, score, names) for d in table]
    ang = np.stack([c[0] for c in cols], axis=-1) if cols else np.zeros(xy.shape[:-2] + (0,))
    conf = np.stack([c[1] for c in cols], axis=-1) if cols else np.zeros(xy.shape[:-2] + (0,), np.float32)
    return ang, conf, tuple(d.name for d in table)


def angle_difference(a: np.ndarray, b: np.ndarray, wraps: bool) -> np.ndarray:
    """b − a in degrees, wrapped to (−180, 180] for signed angles."""
    d = np.asarray(b, np.float64) - np.asarray(a, np.float64)
    return wrap180(d) if wraps else d
