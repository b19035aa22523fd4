"""``skeleton``: only the pose skeleton reaches the output; keypoints CSV alongside."""

from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest

from anonymotion.methods.registry import make_method
from anonymotion.methods.skeleton import NEUTRAL, Skeleton
from anonymotion.errors import ConfigError
from anonymotion.pose.skeletons import MEDIAPIPE_33, draw_skeleton
from anonymotion.types import Regions


def _frames(portrait: np.ndarray, n: int = 3) -> list[np.ndarray]:
    """A few frames of the portrait shifted sideways (a person moving a little)."""
    h, w = portrait.shape[:2]
    return [cv2.warpAffine(portrait, np.float32([[1, 0, 4 * i], [0, 1, 0]]), (w, h),
                           borderMode=cv2.BORDER_REPLICATE) for i in range(n)]


@pytest.mark.slow
def test_neutral_output_is_drawn_from_keypoints_alone(tmp_path, portrait):
    csv_path = tmp_path / "kp.csv"
    method = make_method("skeleton")
    method.output_csv = csv_path
    outs = []
    try:
        for i, rgb in enumerate(_frames(portrait)):
            outs.append(method.apply(rgb, Regions.empty(), t=i / 25))
        assert not csv_path.exists()  # only complete files appear
    finally:
        method.close()
    with open(csv_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 3 and [r["frame"] for r in rows] == ["0", "1", "2"]
    assert float(rows[1]["t"]) == pytest.approx(0.04)
    assert rows[0]["nose_x"] and float(rows[0]["nose_score"]) > 0.5
    for out, row, rgb in zip(outs, rows, _frames(portrait)):
        # Redrawing the CSV's keypoints on an empty canvas reproduces the frame: no pixel of the
        # input is in it, only lines drawn from keypoints.
        xy = np.array([[float(row[f"{n}_x"] or "nan"), float(row[f"{n}_y"] or "nan")] for n in MEDIAPIPE_33],
                      np.float32)
        score = np.array([float(row[f"{n}_score"] or 0) for n in MEDIAPIPE_33], np.float32)
        canvas = np.full_like(rgb, NEUTRAL)
        redrawn = draw_skeleton(canvas, xy, score, threshold=0.5)
        assert np.any(out != redrawn, axis=2).mean() < 0.002
        drawn = np.any(out != np.array(NEUTRAL, np.uint8), axis=2)
        assert 0.001 < drawn.mean() < 0.1  # a skeleton, not the picture
        face = rgb[100:230, 130:260]
        assert not np.any(np.all(out[100:230, 130:260] == face, axis=2) & ~drawn[100:230, 130:260]
                          & np.any(face != np.array(NEUTRAL, np.uint8), axis=2))


@pytest.mark.slow
def test_blurred_background_hides_the_face(portrait):
    method = make_method("skeleton", background="blur")
    try:
        out = method.apply(portrait, Regions.empty())
    finally:
        method.close()
    face = (slice(110, 230), slice(140, 250))

    def detail(x: np.ndarray) -> float:
        return float(cv2.Laplacian(cv2.cvtColor(np.ascontiguousarray(x[face]), cv2.COLOR_RGB2GRAY), cv2.CV_64F).var())

    background = method.background_of(portrait)
    assert detail(background) < 0.02 * detail(portrait)
    assert np.any(out != background, axis=2).mean() < 0.05  # the rest is skeleton lines


def test_abort_leaves_no_csv_and_bad_background_is_refused(tmp_path):
    m = Skeleton(output_csv=tmp_path / "kp.csv")
    rgb = np.full((64, 48, 3), 100, np.uint8)
    m.apply(rgb, Regions.empty())
    m.abort()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ConfigError, match="background"):
        Skeleton(background="white")
