"""Face landmarks carried by a track: as shares of its box, smoothed over time.

A track stores its five landmarks (eyes, nose tip, mouth corners; (5, 2) px in the frame)
relative to its box: x as a share of the box's width from its left edge, y of its height
from its top. The box itself follows the face exactly (detected, interpolated or held);
only the layout inside it is smoothed, so a synthetic face oriented from the landmarks
keeps still while the detector's landmark estimates jitter by a few pixels: exponentially,
time constant :data:`LANDMARK_TAU` seconds. Between two detections they are interpolated;
a held or dilated box carries the track's last ones; a detection without landmarks
(BlazeFace) makes them unknown (NaN) again.
"""

from __future__ import annotations

import numpy as np

LANDMARK_TAU = 0.1  # seconds: time constant of the exponential smoothing of a track's landmarks
_EPS = 1e-6


def known(marks: np.ndarray) -> np.ndarray | None:
    """(5, 2) landmarks when all are finite, else None."""
    return marks if np.isfinite(marks).all() else None


def to_box_shares(marks: np.ndarray, box: np.ndarray) -> np.ndarray:
    """(5, 2) landmarks in px -> shares of the (4,) x1, y1, x2, y2 box's width and height from its corner."""
    size = np.maximum(box[2:] - box[:2], _EPS)
    return (np.asarray(marks, np.float64) - box[:2]) / size


def from_box_shares(shares: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_box_shares`: (5, 2) shares of ``box`` -> px."""
    return box[:2] + np.asarray(shares, np.float64) * (box[2:] - box[:2])


def smooth_shares(old: np.ndarray | None, new: np.ndarray | None, dt: float, tau: float = LANDMARK_TAU) -> np.ndarray | None:
    """Exponential smoothing of landmark shares: weight 1 - exp(-dt / tau) on ``new``.

    None (unknown) when ``new`` is None; ``new`` itself when there is no ``old`` or tau is 0.
    """
    if new is None:
        return None
    if old is None or tau <= 0:
        return np.asarray(new, np.float64)
    a = 1.0 - float(np.exp(-max(dt, 0.0) / tau))
    return a * np.asarray(new, np.float64) + (1.0 - a) * old
