"""Zero-phase Butterworth low-pass filtering of keypoint trajectories (as Sports2D does).

The same filter (order, cut-off) must be applied to every video that is compared, so
differences are not filter artefacts. Gaps (NaN) are never bridged: each run of finite
samples is filtered on its own; runs too short to filter are left as they are.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from anonymotion.errors import ConfigError
from anonymotion.types import Poses

log = logging.getLogger(__name__)

DEFAULT_CUTOFF_HZ = 6.0
DEFAULT_ORDER = 4


def sample_rate(t: np.ndarray) -> float:
    """Frames per second from (T,) timestamps in seconds (median interval); 0 when unknown."""
    dt = np.diff(np.asarray(t, np.float64))
    dt = dt[dt > 0]
    return float(1.0 / np.median(dt)) if dt.size else 0.0


def _runs(ok: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) index ranges of consecutive True values in a (T,) bool array."""
    edges = np.diff(np.concatenate([[0], ok.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def butterworth(x: np.ndarray, fs: float, cutoff_hz: float = DEFAULT_CUTOFF_HZ,
                order: int = DEFAULT_ORDER) -> np.ndarray:
    """Low-pass x (T, ...) along time with a zero-phase Butterworth filter (sosfiltfilt).

    fs: samples per second; cutoff_hz must be below fs / 2. NaN samples stay NaN and split
    the series into runs filtered separately. Returns a float64 copy.
    """
    from scipy.signal import butter, sosfiltfilt

    if cutoff_hz <= 0:
        raise ConfigError(None, f"filter cut-off must be positive, got {cutoff_hz:g} Hz")
    if fs <= 2 * cutoff_hz:
        raise ConfigError(None, f"filter cut-off {cutoff_hz:g} Hz needs a frame rate above "
                                f"{2 * cutoff_hz:g} frames/s (video has {fs:.3g})")
    sos = butter(order, cutoff_hz, btype="low", fs=fs, output="sos")
    x = np.asarray(x, np.float64)
    out = x.copy()
    flat = out.reshape(x.shape[0], -1)
    src = x.reshape(x.shape[0], -1)
    min_len = 3 * order + 1
    for j in range(flat.shape[1]):
        for a, b in _runs(np.isfinite(src[:, j])):
            if b - a < min_len:
                continue
            flat[a:b, j] = sosfiltfilt(sos, src[a:b, j], padlen=min(b - a - 1, 3 * (2 * len(sos) + 1)))
    return out


def filter_poses(poses: Poses, cutoff_hz: float = DEFAULT_CUTOFF_HZ, order: int = DEFAULT_ORDER) -> Poses:
    """Poses with xy (and world) low-passed along time; scores unchanged."""
    fs = sample_rate(poses.t)
    if fs == 0:
        return poses
    xy = butterworth(poses.xy, fs, cutoff_hz, order).astype(np.float32)
    world = None if poses.world is None else butterworth(poses.world, fs, cutoff_hz, order).astype(np.float32)
    return replace(poses, xy=xy, world=world)
