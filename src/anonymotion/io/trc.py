"""OpenSim / Pose2Sim / Sports2D ``.trc`` marker trajectories (tab-separated text).

Layout (version 4 of the PathFileType header)::

    PathFileType  4  (X/Y/Z)  <file name>
    DataRate  CameraRate  NumFrames  NumMarkers  Units  OrigDataRate  OrigDataStartFrame  OrigNumFrames
    <rate>    <rate>      <T>        <K>         m      <rate>        1                   <T>
    Frame#  Time  <marker 1>  (two empty)  <marker 2> ...
            X1  Y1  Z1  X2  Y2  Z2 ...
    1  0.000000  x  y  z ...

Coordinates are written in metres with **Y up**, as OpenSim expects. A Z-up world (a
Qualisys lab) is turned into Y-up by the cyclic axis change (X, Y, Z) -> (Y, Z, X), a
proper rotation, as Pose2Sim does. Missing markers are empty fields.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from anonymotion.io.writer import write_text_atomic


def to_y_up(points: np.ndarray, up: Sequence[float]) -> np.ndarray:
    """(..., 3) points of a world whose vertical is ``up`` (a ±unit axis) -> Y-up coordinates."""
    u = np.asarray(up, np.float64)
    axis = int(np.argmax(np.abs(u)))
    if not np.isclose(abs(u[axis]), 1.0):
        raise ValueError(f"up {tuple(u)} is not a coordinate axis")
    p = np.asarray(points, np.float64)
    if axis == 2:  # Z up: (X, Y, Z) -> (Y, Z, X)
        p = p[..., [1, 2, 0]]
    elif axis == 0:  # X up: (X, Y, Z) -> (Z, X, Y)
        p = p[..., [2, 0, 1]]
    if u[axis] < 0:  # down-pointing axis: turn 180° about the new Z
        p = p * np.array([-1.0, -1.0, 1.0])
    return p


def trc_text(points_m: np.ndarray, t: np.ndarray, names: Sequence[str], *, rate: float, file_name: str) -> str:
    """TRC text for points (T, K, 3) already in metres and Y-up, times t (T,) seconds."""
    pts = np.asarray(points_m, np.float64)
    n, k = pts.shape[:2]
    buf = io.StringIO()
    buf.write(f"PathFileType\t4\t(X/Y/Z)\t{file_name}\n")
    buf.write("DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames\n")
    buf.write(f"{rate:g}\t{rate:g}\t{n}\t{k}\tm\t{rate:g}\t1\t{n}\n")
    buf.write("Frame#\tTime\t" + "\t\t\t".join(names) + "\t\t\n")
    buf.write("\t\t" + "\t".join(f"X{i}\tY{i}\tZ{i}" for i in range(1, k + 1)) + "\n")
    for f in range(n):
        vals = ["" if not np.isfinite(v) else f"{v:.6f}" for v in pts[f].ravel()]
        buf.write(f"{f + 1}\t{t[f]:.6f}\t" + "\t".join(vals) + "\n")
    return buf.getvalue()


def write_trc(path: str | os.PathLike, points_mm: np.ndarray, t: np.ndarray, names: Sequence[str], *,
              up: Sequence[float] = (0.0, 0.0, 1.0), rate: float | None = None) -> Path:
    """Write points (T, K, 3) in world mm (vertical ``up``) as a Y-up, metre ``.trc`` (atomically).

    rate: frames/s for the header (default: from the median interval of ``t``).
    """
    path = Path(path)
    t = np.asarray(t, np.float64)
    if rate is None:
        dt = np.diff(t)
        rate = float(1.0 / np.median(dt)) if dt.size and np.median(dt) > 0 else 0.0
    pts = to_y_up(points_mm, up) / 1000.0
    return write_text_atomic(path, trc_text(pts, t, names, rate=round(rate, 3), file_name=path.name))


def read_trc(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Read a ``.trc`` back: points (T, K, 3) in its units (NaN for empty fields), t (T,), marker names."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    names = tuple(n for n in lines[3].split("\t")[2:] if n)
    rows = [ln.split("\t") for ln in lines[5:] if ln.strip()]
    t = np.array([float(r[1]) for r in rows])
    vals = np.array([[float(v) if v else np.nan for v in (r[2:] + [""] * (3 * len(names)))[: 3 * len(names)]]
                     for r in rows])
    return vals.reshape(len(rows), len(names), 3), t, names
