"""``body-*``: the person mask from MediaPipe segmentation, blurred, pixelated or filled."""

from __future__ import annotations

import numpy as np
import pytest

from anonymotion.methods.registry import make_method
from anonymotion.detect.bodies import dilate_mask
from anonymotion.types import Regions


def _mask_regions(mask: np.ndarray) -> Regions:
    e = Regions.empty()
    return Regions(e.boxes, e.scores, e.track_ids, e.sources, mask=mask)


def test_body_methods_change_exactly_the_mask():
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (200, 150, 3), dtype=np.uint8)
    mask = np.zeros((200, 150), bool)
    mask[40:180, 50:100] = True
    mask[60:80, 20:130] = True  # arms
    for name in ("body-blur", "body-pixelate", "body-block"):
        out = make_method(name).apply(rgb, _mask_regions(mask))
        changed = np.any(out != rgb, axis=2)
        assert changed[mask].mean() > 0.95, name
        assert not changed[~mask].any(), name
    block = make_method("body-block").apply(rgb, _mask_regions(mask))
    assert (block[mask] == 0).all()


def test_strength_is_settable():
    rng = np.random.default_rng(4)
    rgb = rng.integers(0, 256, (200, 150, 3), dtype=np.uint8)
    mask = np.zeros((200, 150), bool)
    mask[20:190, 30:120] = True
    regions = _mask_regions(mask)

    def detail(name: str, **kw) -> float:
        return float(make_method(name, **kw).apply(rgb, regions)[60:150, 50:100].astype(float).std())

    assert detail("body-blur", strength=0.01) > detail("body-blur") > detail("body-blur", strength=0.1)
    assert detail("body-pixelate", blocks=40) > detail("body-pixelate") > detail("body-pixelate", blocks=4)


def test_dilate_mask_grows_by_radius():
    m = np.zeros((50, 50), bool)
    m[25, 25] = True
    grown = dilate_mask(m, 5)
    assert grown[25, 20] and grown[20, 25] and not grown[25, 19] and grown.sum() > 60


def _keypoints(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from anonymotion.pose.backend import make_pose_backend

    backend = make_pose_backend("mediapipe", static_image_mode=True)
    try:
        p = backend.process(rgb, 0.0)
    finally:
        backend.close()
    return p.xy, p.score


@pytest.mark.slow
def test_body_mask_covers_the_person_in_a_lab_frame(lab_back):
    from anonymotion.detect.bodies import BodySource

    source = BodySource()
    try:
        regions = source.detect(lab_back, 0.0)
    finally:
        source.close()
    mask = regions.mask
    assert mask is not None and mask.shape == lab_back.shape[:2]
    xy, score = _keypoints(lab_back)  # the pose model's keypoints as an independent check
    seen = (score >= 0.5) & np.isfinite(xy).all(axis=1)
    assert seen.sum() >= 15
    h, w = mask.shape
    inside = [mask[min(h - 1, int(y)), min(w - 1, int(x))] for x, y in xy[seen] if 0 <= x < w and 0 <= y < h]
    assert np.mean(inside) >= 0.9, np.mean(inside)
    assert 0.02 < mask.mean() < 0.4  # the person, not the whole frame
    out = make_method("body-pixelate").apply(lab_back, regions)
    changed = np.any(out != lab_back, axis=2)
    assert changed[mask].mean() > 0.9 and not changed[~mask].any()


@pytest.mark.slow
def test_body_mask_covers_the_portrait_but_not_the_ceiling(portrait):
    from anonymotion.detect.bodies import BodySource
    from anonymotion.detect.faces import make_face_detector

    source = BodySource()
    try:
        mask = source.detect(portrait, 0.0).mask
    finally:
        source.close()
    face = make_face_detector("centerface").detect(portrait).boxes[0].round().astype(int)
    x1, y1, x2, y2 = face
    assert mask[y1:y2, x1:x2].mean() > 0.95
    assert mask[400:600, 100:350].mean() > 0.95  # suit and tie
    assert mask[:40, :60].mean() < 0.05 and mask[:40, -60:].mean() < 0.05  # ceiling corners
