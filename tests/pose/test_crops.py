"""Geometry of the small-person search and the crop followers (pure numpy, no model)."""

from __future__ import annotations

import numpy as np

from anonymotion.pose.backend import PersonsFrame
from anonymotion.pose.crops import box_iou, crop_fits, person_crop, same_person
from anonymotion.pose.multi import dedupe, tile_grid
from anonymotion.pose.skeletons import MEDIAPIPE_33
from anonymotion.track.persons import mirror_permutation

K = len(MEDIAPIPE_33)


def test_tiles_cover_the_frame_and_hold_any_person_up_to_half_a_tile():
    for w, h in ((1080, 1920), (1280, 720), (1920, 1080)):
        tiles = tile_grid(w, h)
        side = tiles[0][2] - tiles[0][0]
        assert side == round(2 / 3 * min(w, h))
        cover = np.zeros((h, w), bool)
        for x1, y1, x2, y2 in tiles:
            assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h and x2 - x1 == y2 - y1 == side
            cover[y1:y2, x1:x2] = True
        assert cover.all()
        rng = np.random.default_rng(0)
        for _ in range(200):  # a person box of at most half a tile lies wholly inside some tile
            bw, bh = rng.uniform(10, side / 2, 2)
            x, y = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
            assert any(t[0] <= x and x + bw <= t[2] and t[1] <= y and y + bh <= t[3] for t in tiles)
    assert tile_grid(320, 240) == []  # tiles would be no sharper than the frame


def test_person_crop_is_tight_wide_enough_and_inside_the_frame():
    crop = person_crop((100, 300, 200, 700), 0.25, 1080, 1920)
    x1, y1, x2, y2 = crop
    # grown by a quarter of the height (600 px tall), 0.6 x as wide (360 px) for the arms, cut at x = 0
    assert crop == (0, 200, 330, 800)
    assert crop_fits(crop, (110, 320, 210, 690), 0.25, 1080, 1920)
    assert not crop_fits(crop, (400, 320, 500, 690), 0.25, 1080, 1920)  # walked out of the crop
    assert box_iou((0, 0, 10, 10), (5, 0, 15, 10)) == 1 / 3 and box_iou((0, 0, 1, 1), (np.nan,) * 4) == 0


def _pose(x: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    xy = np.stack([x + rng.uniform(-40, 40, K), np.linspace(100, 600, K)], axis=1).astype(np.float32)
    return xy


def test_same_person_and_duplicates():
    a = _pose(300, 1)
    assert same_person(a, a + 5) and same_person(a, a[mirror_permutation(MEDIAPIPE_33)])
    assert not same_person(a, _pose(700, 2))
    xy = np.stack([a, a + 3, _pose(700, 2)])
    score = np.array([[0.9] * K, [0.5] * K, [0.8] * K], np.float32)
    found = dedupe(PersonsFrame(xy=xy, score=score, world=np.zeros((3, K, 3), np.float32)))
    assert len(found) == 2 and np.allclose(found.xy[0], a)  # the more visible duplicate is kept
