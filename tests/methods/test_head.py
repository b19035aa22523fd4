"""``head``: the pose-guided head region with the gait study's Gaussian."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from anonymotion.methods.head import HeadBlur, kernel_sigma
from anonymotion.methods.masks import region_mask
from anonymotion.methods.registry import make_method
from anonymotion.detect.heads import head_box, head_size_estimates
from anonymotion.pose.skeletons import MEDIAPIPE_33 as MEDIAPIPE_NAMES
from anonymotion.errors import ConfigError
from anonymotion.types import Regions


def _one(box) -> Regions:
    return Regions(np.array([box], np.float32), np.ones(1, np.float32), np.zeros(1, np.int64), ("t",))


def _changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.any(a != b, axis=2)


def test_default_is_the_studys_25px_gaussian():
    assert kernel_sigma(25) == pytest.approx(4.1, abs=0.01)
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    regions = _one((50, 30, 110, 90))
    out = make_method("head").apply(rgb, regions)
    mask = region_mask(regions, 120, 160, shape="ellipse", mask_scale=1.3)
    expected = cv2.GaussianBlur(rgb, (25, 25), 4.1, borderType=cv2.BORDER_REPLICATE)
    inner = cv2.erode(mask.astype(np.uint8), np.ones((25, 25), np.uint8)).astype(bool)  # away from the rect's edge
    assert np.abs(out[inner].astype(int) - expected[inner]).max() <= 1
    assert (out[~mask] == rgb[~mask]).all()


def test_stronger_settings_remove_more_detail():
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    regions = _one((40, 20, 120, 100))
    y1, y2, x1, x2 = 45, 75, 65, 95

    def detail(m) -> float:
        return float(m.apply(rgb, regions)[y1:y2, x1:x2].astype(float).std())

    default, bigger, relative = detail(HeadBlur()), detail(HeadBlur(kernel=51)), detail(HeadBlur(strength=0.12))
    assert float(rgb[y1:y2, x1:x2].std()) > default > bigger > relative
    with pytest.raises(ConfigError, match="odd"):
        HeadBlur(kernel=24)


def test_head_size_comes_from_the_shoulders_when_the_face_is_turned_away():
    xy = np.full((33, 2), np.nan, np.float32)
    n = MEDIAPIPE_NAMES.index
    # Seen from behind: ears almost on top of each other, no usable eye-mouth distance.
    xy[n("left_ear")], xy[n("right_ear")] = (300, 200), (304, 201)
    xy[n("nose")] = (302, 205)
    xy[n("left_shoulder")], xy[n("right_shoulder")] = (230, 300), (370, 300)
    xy[n("left_hip")], xy[n("right_hip")] = (260, 480), (340, 480)
    est = head_size_estimates(xy, MEDIAPIPE_NAMES)
    assert est["shoulders"] == pytest.approx(0.7 * 140)
    box, _ = head_box(xy, np.ones(33, np.float32), MEDIAPIPE_NAMES)
    side = box[2] - box[0]
    assert side == pytest.approx(est["shoulders"]) and side > 5 * est["ears"]
    assert (box[1] + box[3]) / 2 < 200  # centred above the ears (towards the crown)
    assert head_box(np.full((33, 2), np.nan, np.float32), np.zeros(33, np.float32), MEDIAPIPE_NAMES) is None


@pytest.mark.slow
def test_head_covers_the_face_of_a_portrait_and_nothing_far_from_it(portrait):
    from anonymotion.detect.faces import make_face_detector
    from anonymotion.detect.heads import HeadSource

    source = HeadSource()
    try:
        regions = source.detect(portrait, 0.0)
    finally:
        source.close()
    assert len(regions) == 1 and regions.sources == ("pose-head",)
    out = make_method("head", strength=0.12).apply(portrait, regions)
    faces = make_face_detector("centerface").detect(portrait)  # independent reference
    assert len(faces) >= 1
    x1, y1, x2, y2 = faces.boxes[0].round().astype(int)
    changed = _changed(portrait, out)
    assert changed[y1:y2, x1:x2].mean() >= 0.9
    h, w = changed.shape
    assert changed[int(h * 0.55):].sum() == 0  # the suit, tie and camera are untouched


@pytest.mark.slow
def test_head_covers_a_head_turned_away_where_face_detectors_fail(lab_back, lab_back_head):
    from anonymotion.detect.faces import make_face_detector
    from anonymotion.detect.heads import HeadSource

    assert len(make_face_detector("blazeface").detect(lab_back)) == 0  # the face detector misses it
    source = HeadSource()
    try:
        regions = source.detect(lab_back, 0.0)
    finally:
        source.close()
    out = make_method("head").apply(lab_back, regions)
    x1, y1, x2, y2 = lab_back_head
    changed = _changed(lab_back, out)
    assert changed[y1:y2, x1:x2].mean() >= 0.9
    grown = np.zeros_like(changed)
    grown[y1 - 100:y2 + 100, x1 - 100:x2 + 100] = True
    assert changed[~grown].sum() == 0  # nothing changes away from the head
