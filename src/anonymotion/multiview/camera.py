"""A calibrated pinhole camera with OpenCV's lens distortion, and its projection maths.

Conventions (the whole ``multiview`` package):
- World coordinates in **millimetres**, right-handed. Calibrations from a Qualisys lab have
  Z up; :attr:`Calibration.up` says which axis is up.
- ``R`` (3, 3) and ``t`` (3,) map world to camera: ``X_cam = R @ X_world + t`` (mm), with
  OpenCV's camera axes: x to the image right, y down, z forward along the optical axis.
- ``K`` (3, 3) maps normalised image coordinates to pixels of the upright video frame
  (x right, y down, origin at the top-left pixel's top-left corner as in OpenCV).
- ``dist`` (5,) OpenCV's ``k1, k2, p1, p2, k3`` (radial and tangential), applied to the
  normalised coordinates before ``K``.
- ``size`` (width, height) in pixels of the frames the calibration describes.

All functions are pure numpy; shapes broadcast over leading axes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from anonymotion.errors import InputError

log = logging.getLogger(__name__)

#: Relative size difference (per axis) read as encoder cropping/padding rather than a different camera.
CROP_TOLERANCE = 0.02


@dataclass(frozen=True, eq=False)
class Camera:
    """One calibrated camera (see the module docstring for units and axes)."""

    name: str
    K: np.ndarray  # (3, 3) intrinsics, pixels
    dist: np.ndarray  # (5,) k1, k2, p1, p2, k3
    R: np.ndarray  # (3, 3) world -> camera rotation
    t: np.ndarray  # (3,) world -> camera translation, mm
    size: tuple[int, int]  # (width, height) pixels

    def __post_init__(self) -> None:
        dist = np.zeros(5)
        d = np.asarray(self.dist, np.float64).ravel()[:5]
        dist[: d.size] = d
        object.__setattr__(self, "K", np.asarray(self.K, np.float64).reshape(3, 3))
        object.__setattr__(self, "dist", dist)
        object.__setattr__(self, "R", np.asarray(self.R, np.float64).reshape(3, 3))
        object.__setattr__(self, "t", np.asarray(self.t, np.float64).reshape(3))
        object.__setattr__(self, "size", (int(self.size[0]), int(self.size[1])))

    @property
    def center(self) -> np.ndarray:
        """(3,) the camera's optical centre in world coordinates, mm."""
        return -self.R.T @ self.t

    @property
    def Rt(self) -> np.ndarray:
        """(3, 4) world -> camera [R | t] (maps to normalised, undistorted coordinates)."""
        return np.hstack([self.R, self.t[:, None]])

    @property
    def P(self) -> np.ndarray:
        """(3, 4) projection matrix K [R | t] of the undistorted pinhole model (pixels)."""
        return self.K @ self.Rt

    def project(self, points: np.ndarray) -> np.ndarray:
        """World points (..., 3) mm -> distorted pixels (..., 2); NaN behind the camera."""
        return project(self, points)

    def undistort(self, xy: np.ndarray) -> np.ndarray:
        """Distorted pixels (..., 2) -> undistorted normalised coordinates (..., 2)."""
        return undistort_normalised(self, xy)

    def depth(self, points: np.ndarray) -> np.ndarray:
        """World points (..., 3) mm -> depth along the optical axis (...,) mm."""
        return np.asarray(points, np.float64) @ self.R[2] + self.t[2]

    def scaled(self, sx: float, sy: float) -> "Camera":
        """The same camera for frames resized by (sx, sy): focal lengths and principal point scale."""
        S = np.diag([sx, sy, 1.0])
        size = (int(round(self.size[0] * sx)), int(round(self.size[1] * sy)))
        return Camera(self.name, S @ self.K, self.dist, self.R, self.t, size)

    def for_video(self, width: int, height: int, *, source: object = None) -> "Camera":
        """This camera adapted to upright frames of ``width`` x ``height`` px.

        Same size: itself. Both axes scaled by one factor (a binned or down-scaled video):
        K scaled. Within :data:`CROP_TOLERANCE` per axis (encoders crop or pad a few rows,
        e.g. 1080 vs 1088): same K, the pixel origin is shared. A transposed size (the video
        is rotated relative to the calibration) or anything else: InputError naming ``source``.
        """
        cw, ch = self.size
        if (width, height) == (cw, ch):
            return self
        sx, sy = width / cw, height / ch
        if abs(sx - sy) <= 0.005 * max(sx, sy) and abs(sx - 1.0) > CROP_TOLERANCE:
            log.info("%s: video %dx%d is the calibration's %dx%d scaled by %.3f", self.name, width, height, cw, ch, sx)
            return self.scaled(sx, sy)
        if abs(sx - 1.0) <= CROP_TOLERANCE and abs(sy - 1.0) <= CROP_TOLERANCE:
            log.info("%s: video %dx%d vs calibration %dx%d: read as encoder crop/padding (origin kept)",
                     self.name, width, height, cw, ch)
            return Camera(self.name, self.K, self.dist, self.R, self.t, (width, height))
        if (width, height) == (ch, cw) or abs(width / ch - height / cw) < 0.005 and width != height:
            raise InputError(source, f"frames are {width}x{height} but camera {self.name!r} was calibrated on "
                                     f"{cw}x{ch} frames: the video is rotated relative to the calibration")
        raise InputError(source, f"frames are {width}x{height} but camera {self.name!r} was calibrated on "
                                 f"{cw}x{ch} frames")


def distort_normalised(dist: np.ndarray, xn: np.ndarray) -> np.ndarray:
    """Apply OpenCV's radial + tangential model to undistorted normalised coordinates (..., 2)."""
    k1, k2, p1, p2, k3 = np.asarray(dist, np.float64)
    x, y = xn[..., 0], xn[..., 1]
    r2 = x * x + y * y
    radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    return np.stack([xd, yd], axis=-1)


def project(cam: Camera, points: np.ndarray) -> np.ndarray:
    """World points (..., 3) mm -> distorted pixel coordinates (..., 2) in ``cam``.

    Points at or behind the camera's centre plane give NaN.
    """
    X = np.asarray(points, np.float64)
    Xc = X @ cam.R.T + cam.t
    z = Xc[..., 2:3]
    with np.errstate(invalid="ignore", divide="ignore"):
        xn = np.where(z > 1e-9, Xc[..., :2] / z, np.nan)
    xd = distort_normalised(cam.dist, xn)
    K = cam.K
    u = K[0, 0] * xd[..., 0] + K[0, 1] * xd[..., 1] + K[0, 2]
    v = K[1, 1] * xd[..., 1] + K[1, 2]
    return np.stack([u, v], axis=-1)


def undistort_normalised(cam: Camera, xy: np.ndarray, iterations: int = 20) -> np.ndarray:
    """Distorted pixels (..., 2) -> undistorted normalised coordinates (..., 2).

    Inverts :func:`distort_normalised` by fixed-point iteration (as OpenCV's
    ``undistortPoints``), run to convergence for the mild distortion of real lenses.
    NaN stays NaN.
    """
    p = np.asarray(xy, np.float64)
    K = cam.K
    yd = (p[..., 1] - K[1, 2]) / K[1, 1]
    xd = (p[..., 0] - K[0, 2] - K[0, 1] * yd) / K[0, 0]
    if not np.any(cam.dist):
        return np.stack([xd, yd], axis=-1)
    k1, k2, p1, p2, k3 = cam.dist
    x, y = xd.copy(), yd.copy()
    for _ in range(iterations):
        r2 = x * x + y * y
        radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
        dx = 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
        dy = p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
        x = (xd - dx) / radial
        y = (yd - dy) / radial
    return np.stack([x, y], axis=-1)


def undistort_pixels(cam: Camera, xy: np.ndarray) -> np.ndarray:
    """Distorted pixels (..., 2) -> the pixels an ideal (distortion-free) camera with the same K sees."""
    xn = undistort_normalised(cam, xy)
    K = cam.K
    return np.stack([K[0, 0] * xn[..., 0] + K[0, 1] * xn[..., 1] + K[0, 2], K[1, 1] * xn[..., 1] + K[1, 2]], -1)


def fundamental(a: Camera, b: Camera) -> np.ndarray:
    """(3, 3) fundamental matrix F with x_b^T F x_a = 0 for undistorted pixels of ``a`` and ``b``."""
    R = b.R @ a.R.T
    t = b.t - R @ a.t
    tx = np.array([[0, -t[2], t[1]], [t[2], 0, -t[0]], [-t[1], t[0], 0]])
    E = tx @ R
    return np.linalg.inv(b.K).T @ E @ np.linalg.inv(a.K)


def epipolar_distance(F: np.ndarray, xa: np.ndarray, xb: np.ndarray) -> np.ndarray:
    """Symmetric epipolar distance (px) between undistorted pixels xa (..., 2) of view a and xb of view b.

    The mean of the distance of xb to the epipolar line of xa and of xa to the line of xb.
    """
    ha = np.concatenate([xa, np.ones(xa.shape[:-1] + (1,))], -1)
    hb = np.concatenate([xb, np.ones(xb.shape[:-1] + (1,))], -1)
    lb = ha @ F.T  # lines in b
    la = hb @ F  # lines in a
    num = np.abs(np.sum(hb * lb, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        db = num / np.hypot(lb[..., 0], lb[..., 1])
        da = num / np.hypot(la[..., 0], la[..., 1])
    return 0.5 * (da + db)
