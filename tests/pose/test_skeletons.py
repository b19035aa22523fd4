"""Layout maps: COCO-17 and BODY-25 from MediaPipe's 33 landmarks, derived neck and mid-hip."""

from __future__ import annotations

import numpy as np
import pytest

from anonymotion.pose.skeletons import BODY_25, COCO_17, MEDIAPIPE_33, draw_skeleton, edge_indices, to_layout


def _pose():
    xy = np.arange(33 * 2, dtype=np.float32).reshape(33, 2)
    score = np.linspace(0.2, 1.0, 33).astype(np.float32)
    return xy, score


def test_coco17_picks_the_same_named_points():
    xy, score = _pose()
    cxy, cs, names = to_layout(xy, score, MEDIAPIPE_33, "coco17")
    assert names == COCO_17 and cxy.shape == (17, 2)
    for j, n in enumerate(COCO_17):
        assert np.array_equal(cxy[j], xy[MEDIAPIPE_33.index(n)])


def test_body25_derives_neck_and_midhip_and_leaves_small_toes_missing():
    xy, score = _pose()
    bxy, bs, names = to_layout(xy[None], score[None], MEDIAPIPE_33, "body25")
    assert names == BODY_25 and bxy.shape == (1, 25, 2)
    ls, rs = MEDIAPIPE_33.index("left_shoulder"), MEDIAPIPE_33.index("right_shoulder")
    assert np.allclose(bxy[0, 1], (xy[ls] + xy[rs]) / 2)
    assert bs[0, 1] == pytest.approx(min(score[ls], score[rs]))
    lh, rh = MEDIAPIPE_33.index("left_hip"), MEDIAPIPE_33.index("right_hip")
    assert np.allclose(bxy[0, 8], (xy[lh] + xy[rh]) / 2)
    assert np.isnan(bxy[0, BODY_25.index("LSmallToe")]).all() and bs[0, BODY_25.index("RSmallToe")] == 0


def test_draw_skeleton_skips_low_scores_and_nan():
    rgb = np.zeros((100, 100, 3), np.uint8)
    xy = np.full((33, 2), np.nan, np.float32)
    assert not draw_skeleton(rgb, xy, np.zeros(33, np.float32)).any()
    xy[11], xy[13] = (10, 10), (90, 90)
    score = np.zeros(33, np.float32)
    score[[11, 13]] = 0.9
    out = draw_skeleton(rgb, xy, score)
    assert out[50, 50].any()  # the upper-arm line crosses the middle
    score[13] = 0.1
    assert not draw_skeleton(rgb, xy, score)[50, 50].any()
    assert not rgb.any()  # input untouched
    assert len(edge_indices()) > 30
