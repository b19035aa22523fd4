"""Person-to-person matching (pure numpy): a lost person is reported lost, never paired with another."""

from __future__ import annotations

import numpy as np
import pytest

from anonymotion.evaluation.matching import match_persons, partner_track
from anonymotion.pose.people import PersonsPoses
from anonymotion.pose.skeletons import MEDIAPIPE_33

K = len(MEDIAPIPE_33)


def person(x: float, y: float, height: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pts = np.stack([rng.uniform(-0.2, 0.2, K) * height, np.linspace(-0.5, 0.5, K) * height], axis=1)
    return (pts + [x, y]).astype(np.float32)


def stack(tracks: list[list[np.ndarray | None]]) -> np.ndarray:
    """(P, T, K, 2) from per-person lists of poses (None = absent)."""
    out = np.full((len(tracks), len(tracks[0]), K, 2), np.nan, np.float32)
    for p, track in enumerate(tracks):
        for f, xy in enumerate(track):
            if xy is not None:
                out[p, f] = xy
    return out


def test_identical_persons_in_another_order_are_matched():
    a, b = person(300, 500, 600, 1), person(800, 500, 300, 2)
    ref = stack([[a] * 5, [b] * 5])
    test = stack([[b + 1] * 5, [a - 2] * 5])  # the other video's model numbered them the other way
    m = match_persons(ref, test, MEDIAPIPE_33)
    assert (m.partner[0] == 1).all() and (m.partner[1] == 0).all() and not m.extra.any()
    assert np.allclose(partner_track(test, m.partner[0]), a - 2)


def test_a_person_lost_in_the_test_is_not_paired_with_the_other():
    a, b = person(300, 500, 600, 1), person(700, 520, 560, 2)  # side by side, similar size
    ref = stack([[a] * 6, [b] * 6])
    test = stack([[a + 3] * 6, [None, None, b, None, b, None]])  # B lost in 4 frames
    m = match_persons(ref, test, MEDIAPIPE_33)
    assert (m.partner[0] == 0).all()
    assert m.partner[1].tolist() == [-1, -1, 1, -1, 1, -1]
    assert not m.extra.any()


def test_someone_else_in_the_test_is_extra_not_a_match():
    a = person(300, 500, 600, 1)
    stranger = person(900, 500, 600, 7)
    ref = stack([[a] * 3])
    test = stack([[None] * 3, [stranger] * 3])  # A lost; another person appeared elsewhere
    m = match_persons(ref, test, MEDIAPIPE_33)
    assert (m.partner == -1).all()
    assert m.extra[1].all()


def test_a_left_right_flipped_pose_is_the_same_person():
    from anonymotion.track.persons import mirror_permutation

    a = person(300, 500, 600, 1)
    a[:, 0] += np.where([n.startswith("left_") for n in MEDIAPIPE_33], 40, -40)  # left and right apart
    flipped = a[mirror_permutation(MEDIAPIPE_33)]
    m = match_persons(stack([[a]]), stack([[flipped]]), MEDIAPIPE_33)
    assert m.partner[0, 0] == 0


def test_compare_poses_per_person_reports_lost_and_extra():
    from anonymotion.evaluation import compare_poses

    a, b = person(300, 500, 600, 1), person(700, 520, 560, 2)
    stranger = person(1100, 500, 500, 3)
    t = np.arange(6) / 30
    ref_xy = stack([[a] * 6, [b] * 6])
    test_xy = stack([[a + 1] * 6, [None, None, b, None, b, None], [stranger] * 6])

    def poses(xy: np.ndarray, ids: list[int]) -> PersonsPoses:
        score = np.where(np.isfinite(xy).all(-1), 0.9, 0.0).astype(np.float32)
        return PersonsPoses(t=t, ids=np.array(ids), xy=xy, score=score, names=MEDIAPIPE_33, size=(1280, 1000))

    result = compare_poses(poses(ref_xy, [1, 2]), poses(test_xy, [5, 6, 7]))
    rows = {r["person"]: r for r in result.persons}
    assert result.persons[0]["subject"] and result.overall["subject_person"] == 1  # the taller person
    assert rows[1]["frames_lost"] == 0 and rows[1]["matched_ids"] == [5]
    assert rows[1]["epe_px"] == pytest.approx(np.sqrt(2))  # every keypoint moved by (1, 1)
    assert rows[2]["frames_lost"] == 4 and rows[2]["frames_matched"] == 2 and rows[2]["matched_ids"] == [6]
    assert rows[2]["epe_px"] == 0 and rows[2]["ptk_pct"] < 50
    assert result.extra_persons == [{"person": 7, "frames": 6, "frames_extra": 6}]
    o = result.overall
    assert (o["person_frames_ref"], o["person_frames_matched"], o["person_frames_lost"], o["person_frames_extra"]) \
        == (12, 8, 4, 6)
