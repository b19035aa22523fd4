"""Zero-phase Butterworth filtering: removes jitter, keeps the movement, never bridges gaps."""

from __future__ import annotations

import numpy as np
import pytest

from anonymotion.errors import ConfigError
from anonymotion.pose.filtering import butterworth, filter_poses, sample_rate
from anonymotion.types import Poses


def test_filter_removes_high_frequency_jitter_without_lag():
    fs = 60.0
    t = np.arange(240) / fs
    slow = 50 * np.sin(2 * np.pi * 1.0 * t)  # 1 Hz movement
    jitter = 5 * np.sin(2 * np.pi * 20.0 * t)  # 20 Hz keypoint jitter
    out = butterworth(slow + jitter, fs, 6.0)
    core = slice(30, -30)
    assert np.max(np.abs(out[core] - slow[core])) < 1.0  # jitter gone, no phase lag
    assert sample_rate(t) == pytest.approx(60.0)


def test_nan_gaps_stay_nan_and_split_the_series():
    fs = 50.0
    x = np.sin(np.arange(100) / 10.0)
    x[40:45] = np.nan
    out = butterworth(x[:, None], fs, 6.0)
    assert np.isnan(out[40:45, 0]).all() and np.isfinite(out[:40, 0]).all() and np.isfinite(out[45:, 0]).all()
    short = np.array([1.0, 5.0, np.nan, 2.0])  # runs too short to filter are kept
    assert np.array_equal(butterworth(short, fs, 6.0)[[0, 1, 3]], short[[0, 1, 3]])


def test_cutoff_must_be_below_nyquist():
    with pytest.raises(ConfigError, match="needs a frame rate above 20"):
        butterworth(np.zeros(50), 15.0, 10.0)


def test_filter_poses_keeps_scores_and_shapes():
    t = np.arange(50) / 25.0
    xy = np.random.default_rng(0).normal(100, 3, (50, 33, 2)).astype(np.float32)
    p = Poses(t=t, xy=xy, score=np.full((50, 33), 0.8, np.float32), names=tuple(str(i) for i in range(33)),
              size=(640, 480), world=np.zeros((50, 33, 3), np.float32))
    f = filter_poses(p, 4.0)
    assert f.xy.shape == xy.shape and f.xy.dtype == np.float32
    assert f.xy.std() < xy.std()  # white noise is reduced
    assert np.array_equal(f.score, p.score)
