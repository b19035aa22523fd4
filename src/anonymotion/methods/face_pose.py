"""Where a detected face looks: yaw, roll, scale and position from its five landmarks.

The synthetic face (:mod:`anonymotion.methods.face_template`) turned by each yaw in
:data:`YAWS` has its own five landmarks; the yaw whose landmarks a similarity transform
(rotation = roll, uniform scale, translation; least squares, Umeyama 1991) maps best onto
the detected ones is the face's yaw, and that transform places the template in the frame.

A face is drawn only where the landmarks look like a face seen from the front or the side:
the best fit's residual is at most :data:`MAX_RESIDUAL` of the landmarks' spread, its yaw
within :data:`MAX_YAW` degrees, and its size consistent with the detector's box. The back
of a head (a detector's box on hair or an ear, landmarks guessed by the network: eyes
collapsed onto one point, mouth beside the nose) fits only a face turned further than
MAX_YAW or not at all, and gets no face. Measured (CenterFace, every 3rd frame of
lab_single/cam01..04, portrait, indoor_group): real faces seen from the front or side fit
with residual 0.02-0.07 (small street faces of 14-35 px: median 0.08, 90th percentile
0.12-0.16), heads seen from behind or turned away 0.12-0.32 at yaws beyond 55 degrees.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from anonymotion.methods.face_template import EXTENT, template_landmarks

YAWS = tuple(float(y) for y in range(-80, 81, 5))  # degrees tried, 5 degree steps
MAX_YAW = 60.0  # degrees: a face turned further is seen from behind rather than from the side
MAX_RESIDUAL = 0.15  # rms landmark misfit as a share of the landmarks' rms spread (see below)
SIZE_RANGE = (0.55, 1.8)  # fitted face width / detector box width
FIT_WIDTH = 100  # canvas width (px) the fit is computed for; the transform is rescaled for others


@dataclass(frozen=True)
class FaceFit:
    """The synthetic face's placement for one detected face.

    yaw: degrees (positive: turned to the image's right). roll: degrees (image rotation of
    the face, clockwise positive in image coordinates). scale: frame px per canvas px of a
    FIT_WIDTH canvas. matrix: (2, 3) float64 similarity canvas px (FIT_WIDTH) -> frame px.
    residual: rms misfit / rms spread. width: fitted face width in frame px. plausible:
    the landmarks look like a face seen from the front or the side (see module docstring).
    """

    yaw: float
    roll: float
    scale: float
    matrix: np.ndarray
    residual: float
    width: float
    plausible: bool

    def matrix_for(self, width: int) -> np.ndarray:
        """(2, 3) similarity from a canvas ``width`` px wide to frame px."""
        m = self.matrix.copy()
        m[:, :2] *= FIT_WIDTH / float(width)
        return m


def similarity(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares similarity (no reflection) mapping (N, 2) ``src`` onto (N, 2) ``dst``.

    Returns the (2, 3) matrix [s R | t] and the rms residual in ``dst`` units (Umeyama 1991).
    """
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    ms, md = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - ms, dst - md
    var = float((a ** 2).sum()) / len(src)
    cov = b.T @ a / len(src)
    u, d, vt = np.linalg.svd(cov)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1.0
    rot = u @ sign @ vt
    s = float(np.trace(np.diag(d) @ sign)) / max(var, 1e-12)
    t = md - s * rot @ ms
    m = np.column_stack([s * rot, t])
    fitted = src @ m[:, :2].T + m[:, 2]
    return m, float(np.sqrt(((fitted - dst) ** 2).sum(axis=1).mean()))


def fit_face(landmarks: np.ndarray, box: np.ndarray, prefer_yaw: float | None = None) -> FaceFit | None:
    """The best-fitting yaw and placement for (5, 2) px ``landmarks`` in the (4,) x1, y1, x2, y2 ``box``.

    None when a landmark is not finite or they have no spread. prefer_yaw: the yaw chosen for
    this face before; it is kept while its residual is within 10 % (+0.01) of the best, so a
    face between two steps does not flip between them.
    """
    dst = np.asarray(landmarks, np.float64).reshape(5, 2)
    if not np.isfinite(dst).all():
        return None
    spread = float(np.sqrt(((dst - dst.mean(axis=0)) ** 2).sum(axis=1).mean()))
    if spread < 1e-3:
        return None
    fits = []
    for yaw in YAWS:
        m, rms = similarity(template_landmarks(yaw, FIT_WIDTH), dst)
        fits.append((rms / spread, yaw, m))
    best = min(fits, key=lambda f: f[0])
    if prefer_yaw is not None:
        kept = [f for f in fits if f[1] == prefer_yaw]
        if kept and kept[0][0] <= best[0] * 1.1 + 0.01:
            best = kept[0]
    residual, yaw, m = best
    scale = float(np.hypot(m[0, 0], m[1, 0]))
    roll = float(np.degrees(np.arctan2(m[1, 0], m[0, 0])))
    width = scale * FIT_WIDTH / EXTENT  # the face spans 2 of the canvas' 2 * EXTENT units
    box_w = max(float(box[2] - box[0]), 1e-6)
    plausible = (residual <= MAX_RESIDUAL and abs(yaw) <= MAX_YAW
                 and SIZE_RANGE[0] <= width / box_w <= SIZE_RANGE[1])
    return FaceFit(yaw=yaw, roll=roll, scale=scale, matrix=m, residual=residual, width=width,
                   plausible=bool(plausible))
