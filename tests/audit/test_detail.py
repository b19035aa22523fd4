"""The detail measures behind the audit's coverage rule, on synthetic images with known answers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from anonymotion.audit.coverage import DetailLimits, judge_face, no_detail_reason
from anonymotion.audit.detail import blockiness, detail_left, fine_detail, grey, ssim, ssim_map

BOX = (40, 30, 104, 94)  # a 64 px "face"


@pytest.fixture(scope="module")
def face(shared_data: Callable[[str], Path]) -> np.ndarray:
    """The portrait's face region as grey, 128 x 128 px around a 64 px box at BOX."""
    rgb = np.asarray(Image.open(shared_data("images/portrait.jpg")).convert("RGB"))
    crop = rgb[110:260, 110:260]
    return grey(cv2.resize(crop, (128, 128), interpolation=cv2.INTER_AREA))


def test_ssim_matches_scikit_image_on_a_whole_image() -> None:
    """Golden value from an independent implementation (scikit-image's Gaussian SSIM, same constants)."""
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(1)
    a = cv2.GaussianBlur(rng.uniform(0, 255, (96, 128)).astype(np.float32), (0, 0), 2)
    b = np.clip(a + rng.normal(0, 8, a.shape), 0, 255).astype(np.float32)
    ours = float(ssim_map(a, b)[8:-8, 8:-8].mean())
    ref_map = structural_similarity(a.astype(np.float64), b.astype(np.float64), data_range=255, gaussian_weights=True,
                                    sigma=1.5, use_sample_covariance=False, full=True)[1]
    assert ours == pytest.approx(float(ref_map[8:-8, 8:-8].mean()), abs=2e-3)


def test_untouched_copy_keeps_everything_a_blur_and_a_block_keep_little(face: np.ndarray) -> None:
    blurred = face.copy()
    blurred[30:94, 40:104] = cv2.GaussianBlur(face, (0, 0), 0.3 * 64)[30:94, 40:104]  # our default blur
    blocked = face.copy()
    blocked[30:94, 40:104] = 0
    noisy = np.clip(face + np.random.default_rng(0).normal(0, 2, face.shape), 0, 255).astype(np.float32)
    assert ssim(face, face, BOX) == pytest.approx(1.0) and detail_left(face, face, BOX) == pytest.approx(1.0)
    assert ssim(face, noisy, BOX) > 0.9 and detail_left(face, noisy, BOX) > 0.9
    assert ssim(face, blurred, BOX) < 0.6 and detail_left(face, blurred, BOX) < 0.2
    assert ssim(face, blocked, BOX) < 0.1 and detail_left(face, blocked, BOX) == pytest.approx(0.0, abs=1e-6)
    limits = DetailLimits()
    assert judge_face(face, noisy, BOX, limits).status == "leaked"
    assert judge_face(face, blurred, BOX, limits).status == "covered"
    assert judge_face(face, blocked, BOX, limits).status == "covered"


def test_a_face_without_identifiable_detail_is_not_judged(face: np.ndarray) -> None:
    limits = DetailLimits()
    assert no_detail_reason(face, BOX, limits)[0] is None  # the portrait's face is sharp
    small = (60, 50, 72, 64)  # 14 px
    assert no_detail_reason(face, small, limits)[0] == "small"
    smeared = cv2.GaussianBlur(face, (0, 0), 64 / 4 / 2)  # no more detail than at ~4 px across
    assert no_detail_reason(smeared, BOX, limits)[0] == "blurred"
    mosaic = face.copy()
    cells = cv2.resize(cv2.resize(face[30:94, 40:104], (6, 6), interpolation=cv2.INTER_AREA), (64, 64),
                       interpolation=cv2.INTER_NEAREST)
    mosaic[30:94, 40:104] = cells  # pixelated in the source, 6 cells across
    assert no_detail_reason(mosaic, BOX, limits)[0] == "pixelated"
    j = judge_face(mosaic, mosaic, BOX, limits)  # left untouched: still not a leak
    assert j.status == "no-detail" and j.reason == "pixelated"


def test_blockiness_and_fine_detail_scales(face: np.ndarray) -> None:
    assert blockiness(face, BOX) < 0.4
    for cells in (4, 8, 12):
        m = cv2.resize(cv2.resize(face, (128 * cells // 64, 128 * cells // 64), interpolation=cv2.INTER_AREA),
                       (128, 128), interpolation=cv2.INTER_NEAREST)
        assert blockiness(m, BOX) > 0.6, cells
    fine = [fine_detail(cv2.GaussianBlur(face, (0, 0), s) if s else face, BOX) for s in (0, 1, 2, 4, 8)]
    assert all(a > b for a, b in zip(fine, fine[1:]))  # monotone in blur
    assert fine_detail(np.full((50, 50), 128, np.float32), (10, 10, 40, 40)) == 0.0
    big = cv2.resize(face, (256, 256), interpolation=cv2.INTER_CUBIC)  # same face at twice the size
    assert fine_detail(big, tuple(2 * v for v in BOX)) == pytest.approx(fine_detail(face, BOX), rel=0.35)


def test_a_residual_face_fails_only_where_the_original_was_seen_to_hold_a_face(face: np.ndarray) -> None:
    """A face found in the output on pixels that kept the original's detail fails when the
    original's look saw a face or candidate there (a face the anonymization left), and is
    "new-in-output" when it saw nothing there (the detector fired on changed surroundings)."""
    from anonymotion.audit.coverage import ResidualContext, classify_residual

    limits = DetailLimits()
    box = np.asarray(BOX, np.float64)
    unseen = ResidualContext(box=box, anon=face.copy(), orig=face, originals=[], limits=limits)
    assert classify_residual(unseen) == "new-in-output"
    far = np.asarray([0, 0, 20, 20], np.float64)  # a candidate elsewhere in the frame
    assert classify_residual(ResidualContext(box=box, anon=face.copy(), orig=face,
                                             originals=[(far, "unconfirmed")], limits=limits)) == "new-in-output"
    part = np.asarray([BOX[0] - 40, BOX[1] - 30, BOX[0] + 30, BOX[3] + 30], np.float64)  # overlapping, not the same face
    seen = ResidualContext(box=box, anon=face.copy(), orig=face, originals=[(part, "covered")], limits=limits)
    assert classify_residual(seen) == "kept-original-detail"
    blurred = cv2.GaussianBlur(face, (0, 0), 6)
    assert classify_residual(ResidualContext(box=box, anon=blurred, orig=face, originals=[(part, "covered")],
                                             limits=limits)) == "on-anonymized-area"
