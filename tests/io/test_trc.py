"""TRC marker files: header OpenSim reads, metres, Y up, empty fields for missing markers."""

from __future__ import annotations

import numpy as np
import pytest

from anonymotion.io.trc import read_trc, to_y_up, write_trc


def test_trc_round_trip_in_metres_y_up(tmp_path):
    t = np.arange(4) / 60
    pts = np.array([[[1000.0, 2000.0, 1500.0], [0.0, -500.0, 100.0]]] * 4)  # mm, Z up
    pts[2, 1] = np.nan
    path = write_trc(tmp_path / "p.trc", pts, t, ["nose", "left_knee"], up=(0, 0, 1))
    lines = path.read_text().splitlines()
    assert lines[0].split("\t")[:3] == ["PathFileType", "4", "(X/Y/Z)"]
    assert lines[2].split("\t") == ["60", "60", "4", "2", "m", "60", "1", "4"]
    assert lines[4].split("\t")[2:5] == ["X1", "Y1", "Z1"]
    back, tb, names = read_trc(path)
    assert names == ("nose", "left_knee")
    np.testing.assert_allclose(tb, t, atol=1e-6)
    np.testing.assert_allclose(back[0, 0], [2.0, 1.5, 1.0])  # (X, Y, Z) -> (Y, Z, X): the height is Y
    assert np.isnan(back[2, 1]).all() and np.isfinite(back[3, 1]).all()


@pytest.mark.parametrize("up, height_axis", [((0, 0, 1), 2), ((0, -1, 0), 1), ((1, 0, 0), 0)])
def test_to_y_up_is_a_rotation_that_makes_up_y(up, height_axis):
    rng = np.random.default_rng(0)
    p = rng.normal(size=(10, 3))
    q = to_y_up(p, up)
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), np.linalg.norm(p, axis=1))
    np.testing.assert_allclose(q[:, 1], p[:, height_axis] * np.sign(sum(up)))
    # handedness kept: the triple product of the images of the axes stays +1
    e = to_y_up(np.eye(3), up)
    assert np.linalg.det(e) == pytest.approx(1.0)
