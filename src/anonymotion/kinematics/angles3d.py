"""3D joint angles from world landmarks (metres), following the gait-study set.

Input: world (T, K, 3) in any right-handed frame with a known vertical ``up``: by default
MediaPipe's world landmarks (metres, hip-centred, x to the image right, y down, z away
from the camera), whose "up" is −y (the camera's vertical, not gravity); triangulated lab
points (mm, e.g. Qualisys Z up) pass ``up=(0, 0, 1)``. Units do not matter (angles only).
Every angle is in degrees and NaN where a needed point is missing or a segment has zero
length.

Frames:
- trunk frame: Y = unit(mid-hip → mid-shoulder) (up the trunk); X = the right→left hip
  vector made perpendicular to Y (to the subject's left); Z = X × Y (anterior).
- global frame: Y = up (−y); X = the right→left hip vector made horizontal; Z = X × Y.

A limb segment direction d (unit, proximal → distal, in one of these frames) is
decomposed Z-X-Y from the neutral "hanging down" direction (0, −1, 0): first a rotation
about the anterior Z axis (abduction, + away from the body midline, in [−90°, 90°]) then
about the lateral X axis (flexion, + forward, in (−180°, 180°]). The axial rotation about
Y is not observable from two points and not reported.

Angles (side = left/right):
- ``{side}_shoulder_flexion`` / ``_abduction``: upper arm (shoulder → elbow), trunk frame.
- ``{side}_elbow_flexion``: 180° − ∠(shoulder, elbow, wrist); 0° straight.
- ``neck_flexion`` (+ forward) and ``neck_side_bend`` (+ to the subject's left): head
  (mid-shoulder → mid-ear) in the trunk frame, 0° along the trunk axis.
- ``{side}_hip_abduction``: thigh (hip → knee) abduction in the trunk frame.
- ``{side}_knee_flexion``: 180° − ∠(hip, knee, ankle).
- ``{side}_femur_flexion`` / ``_abduction``: thigh in the global frame.
- ``pelvis_abduction``: obliquity of the right→left hip line against the horizontal,
  + when the left hip is higher.
- ``{side}_ankle_flexion``: ∠(knee, ankle, foot index) − 90°, + plantar flexion.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from anonymotion.kinematics.angles import vertex_angle
from anonymotion.pose.skeletons import point

_EPS = 1e-9
_UP = np.array([0.0, -1.0, 0.0])


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > _EPS, v / n, np.nan)


def trunk_frame(world: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Rotation matrices (T, 3, 3) whose rows are the trunk X, Y, Z axes in world coordinates."""
    w = np.asarray(world, np.float64)
    hip, _ = point(w, np.ones(w.shape[:-1]), names, "mid_hip")
    sho, _ = point(w, np.ones(w.shape[:-1]), names, "mid_shoulder")
    y = _unit(sho - hip)
    lr = w[..., names.index("left_hip"), :] - w[..., names.index("right_hip"), :]
    x = _unit(lr - np.sum(lr * y, axis=-1, keepdims=True) * y)
    z = np.cross(x, y)
    return np.stack([x, y, z], axis=-2)


def global_frame(world: np.ndarray, names: tuple[str, ...], up: np.ndarray = _UP) -> np.ndarray:
    """Rotation matrices (T, 3, 3): rows X (hip line made horizontal), Y (``up``), Z = X × Y."""
    w = np.asarray(world, np.float64)
    lr = w[..., names.index("left_hip"), :] - w[..., names.index("right_hip"), :]
    y = np.broadcast_to(_unit(np.asarray(up, np.float64)), lr.shape)
    x = _unit(lr - np.sum(lr * y, axis=-1, keepdims=True) * y)
    z = np.cross(x, y)
    return np.stack([x, y, z], axis=-2)


def segment_zxy(frame: np.ndarray, a: np.ndarray, b: np.ndarray, side: float) -> tuple[np.ndarray, np.ndarray]:
    """(flexion, abduction) in degrees of segment a→b in ``frame`` (T, 3, 3); side +1 left, −1 right."""
    d = _unit(np.einsum("...ij,...j->...i", frame, np.asarray(b, np.float64) - a))
    flex = np.degrees(np.arctan2(d[..., 2], -d[..., 1]))
    abd = np.degrees(np.arcsin(np.clip(side * d[..., 0], -1.0, 1.0)))
    return flex, abd


def _side_angles(side: str) -> dict[str, Callable[[np.ndarray, tuple[str, ...], dict], np.ndarray]]:
    sgn = 1.0 if side == "left" else -1.0

    def p(w, names, n):
        return w[..., names.index(f"{side}_{n}"), :]

    return {
        f"{side}_shoulder_flexion": lambda w, n, f: segment_zxy(f["trunk"], p(w, n, "shoulder"), p(w, n, "elbow"), sgn)[0],
        f"{side}_shoulder_abduction": lambda w, n, f: segment_zxy(f["trunk"], p(w, n, "shoulder"), p(w, n, "elbow"), sgn)[1],
        f"{side}_elbow_flexion": lambda w, n, f: 180.0 - vertex_angle(p(w, n, "shoulder"), p(w, n, "elbow"), p(w, n, "wrist")),
        f"{side}_hip_abduction": lambda w, n, f: segment_zxy(f["trunk"], p(w, n, "hip"), p(w, n, "knee"), sgn)[1],
        f"{side}_knee_flexion": lambda w, n, f: 180.0 - vertex_angle(p(w, n, "hip"), p(w, n, "knee"), p(w, n, "ankle")),
        f"{side}_femur_flexion": lambda w, n, f: segment_zxy(f["global"], p(w, n, "hip"), p(w, n, "knee"), sgn)[0],
        f"{side}_femur_abduction": lambda w, n, f: segment_zxy(f["global"], p(w, n, "hip"), p(w, n, "knee"), sgn)[1],
        f"{side}_ankle_flexion": lambda w, n, f: vertex_angle(p(w, n, "knee"), p(w, n, "ankle"), p(w, n, "foot_index")) - 90.0,
    }


def _neck(w: np.ndarray, names: tuple[str, ...], f: dict) -> tuple[np.ndarray, np.ndarray]:
    ones = np.ones(w.shape[:-1])
    sho, _ = point(w, ones, names, "mid_shoulder")
    ear, _ = point(w, ones, names, "mid_ear")
    h = _unit(np.einsum("...ij,...j->...i", f["trunk"], ear - sho))
    return np.degrees(np.arctan2(h[..., 2], h[..., 1])), np.degrees(np.arctan2(h[..., 0], h[..., 1]))


def _pelvis(w: np.ndarray, names: tuple[str, ...], f: dict) -> np.ndarray:
    lr = _unit(w[..., names.index("left_hip"), :] - w[..., names.index("right_hip"), :])
    return np.degrees(np.arcsin(np.clip(lr @ f["up"], -1.0, 1.0)))


_TABLE: dict[str, Callable[[np.ndarray, tuple[str, ...], dict], np.ndarray]] = {
    **_side_angles("left"),
    **_side_angles("right"),
    "neck_flexion": lambda w, n, f: _neck(w, n, f)[0],
    "neck_side_bend": lambda w, n, f: _neck(w, n, f)[1],
    "pelvis_abduction": _pelvis,
}

#: Names of the 3D angles, in output order (left elbow and knee flexion first).
ANGLE_NAMES_3D: tuple[str, ...] = (
    "left_knee_flexion", "left_elbow_flexion", "right_knee_flexion", "right_elbow_flexion",
    "left_shoulder_flexion", "left_shoulder_abduction", "right_shoulder_flexion", "right_shoulder_abduction",
    "neck_flexion", "neck_side_bend", "left_hip_abduction", "right_hip_abduction",
    "left_femur_flexion", "left_femur_abduction", "right_femur_flexion", "right_femur_abduction",
    "pelvis_abduction", "left_ankle_flexion", "right_ankle_flexion",
)


def angles_3d(world: np.ndarray, names: tuple[str, ...],
              up: np.ndarray | tuple[float, float, float] = (0.0, -1.0, 0.0)) -> tuple[np.ndarray, tuple[str, ...]]:
    """All 3D angles: world (T, K, 3) -> angles (T, A) degrees (NaN where undefined), names.

    ``up``: the world's vertical (default MediaPipe world landmarks' −y; (0, 0, 1) for a Z-up lab).
    """
    w = np.asarray(world, np.float64)
    u = _unit(np.asarray(up, np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        frames = {"trunk": trunk_frame(w, names), "global": global_frame(w, names, u), "up": u}
        cols = [np.asarray(_TABLE[n](w, names, frames), np.float64) for n in ANGLE_NAMES_3D]
    return np.stack(cols, axis=-1), ANGLE_NAMES_3D
