"""Body alteration: the share of a subject's body (head excluded) an anonymization changed."""

from __future__ import annotations

import numpy as np

from anonymotion.pose.alteration import altered_share, body_mask
from anonymotion.pose.skeletons import MEDIAPIPE_33
from kit import standing_person


def person(cx: float = 200.0) -> np.ndarray:
    """(33, 2) keypoints of the kit's upright person: eyes at y = 68, shoulders 100, hips 200, heels 325 (px)."""
    return standing_person(cx=cx, hip_y=200.0, torso=100.0)


def frame() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(60, 200, (360, 400, 3), dtype=np.uint8)


def test_face_change_is_not_body_change_but_torso_cover_is():
    xy = person()
    ref = frame()
    face = ref.copy()
    face[35:90, 175:225] = 128  # the face/head, covered
    torso = face.copy()
    torso[100:200, 160:240] = 128  # a "face" detection on the chest, covered
    assert altered_share(ref, ref, xy, MEDIAPIPE_33) == 0.0
    assert altered_share(ref, face, xy, MEDIAPIPE_33) == 0.0
    share = altered_share(ref, torso, xy, MEDIAPIPE_33)
    assert 0.3 < share < 0.9  # the torso is a large part of the body, not the limbs


def test_codec_like_noise_is_not_alteration():
    xy = person()
    ref = frame()
    noise = np.random.default_rng(1).integers(-12, 13, ref.shape)
    noisy = np.clip(ref.astype(int) + noise, 0, 255).astype(np.uint8)
    assert altered_share(ref, noisy, xy, MEDIAPIPE_33) < 0.01


def test_missing_body_or_different_size_gives_nan():
    ref = frame()
    assert np.isnan(altered_share(ref, ref, np.full((33, 2), np.nan, np.float32), MEDIAPIPE_33))
    assert np.isnan(altered_share(ref, ref[:300], person(), MEDIAPIPE_33))
    assert body_mask(np.full((33, 2), np.nan, np.float32), MEDIAPIPE_33, (360, 400)) is None


def test_body_mask_follows_the_keypoints_and_leaves_the_head_out():
    mask = body_mask(person(), MEDIAPIPE_33, (360, 400))
    assert mask[150, 200] and mask[265, 225]  # chest, left knee
    assert not mask[60, 200] and not mask[150, 320]  # head, beside the person
    half = body_mask(person(), MEDIAPIPE_33, (180, 200), scale=0.5)
    assert half[75, 100] and abs(int(half.sum()) * 4 - int(mask.sum())) < 0.1 * mask.sum()
