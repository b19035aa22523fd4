"""Coverage arithmetic: changed pixels, box coverage, tracking, leak runs and size bins."""

from __future__ import annotations

import numpy as np

from anonymotion.audit.faces import (
    CHANGE_THRESHOLD,
    FaceCheck,
    FaceTracker,
    any_leak_runs,
    box_coverage,
    change_mask,
    leak_rates,
    leak_runs,
    size_bin,
)


def _textured(h: int = 60, w: int = 80, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_unchanged_and_small_noise_is_not_change():
    img = _textured()
    assert not change_mask(img, img).any()
    noisy = np.clip(img.astype(int) + np.random.default_rng(1).integers(-2, 3, img.shape), 0, 255).astype(np.uint8)
    assert change_mask(img, noisy).mean() < 0.01


def test_painted_box_is_fully_covered_and_neighbour_is_not():
    img = _textured()
    anon = img.copy()
    anon[10:30, 20:40] = 0
    changed = change_mask(img, anon)
    cov = box_coverage(changed, np.array([[20, 10, 40, 30], [50, 35, 70, 55]], np.float32))
    assert cov[0] > 0.99
    assert cov[1] == 0.0


def test_half_covered_face_is_about_half():
    img = np.full((40, 40, 3), 128, np.uint8)
    anon = img.copy()
    anon[:, :20] = 128 + 3 * int(CHANGE_THRESHOLD)  # left half brighter than the threshold everywhere
    cov = box_coverage(change_mask(img, anon), np.array([[10, 10, 30, 30]], np.float32))
    assert 0.4 < cov[0] < 0.65


def test_padded_output_is_compared_on_the_original_size():
    img = _textured(31, 41)
    padded = np.pad(img, ((0, 1), (0, 1), (0, 0)), mode="edge")
    assert change_mask(img, padded).shape == (31, 41)
    assert not change_mask(img, padded).any()


def test_boxes_outside_the_frame_are_cut_to_it():
    changed = np.ones((20, 20), bool)
    cov = box_coverage(changed, np.array([[-5, -5, 10, 10], [15, 15, 40, 40]], np.float32))
    assert np.allclose(cov, 1.0)


def test_tracker_keeps_ids_across_small_motion_and_gaps():
    tr = FaceTracker(max_gap=3)
    a = tr.update(0, np.array([[0, 0, 10, 10], [50, 50, 60, 60]], np.float32))
    b = tr.update(1, np.array([[51, 50, 61, 60], [1, 0, 11, 10]], np.float32))
    c = tr.update(3, np.array([[2, 0, 12, 10]], np.float32))  # missed in frame 2, back in 3
    d = tr.update(9, np.array([[2, 0, 12, 10]], np.float32))  # gap of 6 frames: a new face
    assert list(a) == [0, 1]
    assert list(b) == [1, 0]
    assert list(c) == [0]
    assert d[0] not in (0, 1)


def _check(frame: int, track: int, leaked: bool, size: float = 50.0) -> FaceCheck:
    return FaceCheck(frame=frame, t=frame / 50, box=(0, 0, size, size), size=size, score=0.9, source="centerface",
                     coverage=0.1 if leaked else 1.0, track=track, leaked=leaked)


def test_leak_runs_are_per_face_and_consecutive():
    checks = [_check(f, 0, f in (3, 4, 5, 9)) for f in range(12)] + [_check(f, 1, f in (4, 5)) for f in range(8)]
    runs = leak_runs(checks)
    assert [(r.track, r.first, r.last, r.length) for r in runs] == [(0, 3, 5, 3), (1, 4, 5, 2), (0, 9, 9, 1)]
    assert runs[0].t_first == 3 / 50


def test_leak_runs_ignore_small_faces_when_asked():
    checks = [_check(0, 0, True, 50), _check(1, 0, True, 20), _check(2, 0, True, 50), _check(3, 0, True, 50)]
    assert [r.length for r in leak_runs(checks)] == [4]
    assert [r.length for r in leak_runs(checks, min_size=40)] == [2, 1]


def test_a_detector_miss_inside_a_run_does_not_shorten_it():
    checks = [_check(0, 0, True), _check(1, 0, True), _check(3, 0, True), _check(4, 0, False), _check(5, 0, True)]
    assert [(r.first, r.last, r.length) for r in leak_runs(checks)] == [(0, 3, 4), (5, 5, 1)]


def test_runs_of_frames_with_any_leak():
    checks = [_check(0, 0, True), _check(1, 1, True), _check(2, 0, False), _check(3, 0, True), _check(4, 2, True)]
    assert any_leak_runs(checks) == [(0, 1), (3, 4)]


def test_leak_rates_by_size_bin():
    checks = [_check(0, 0, True, 20), _check(1, 0, False, 20), _check(0, 1, True, 50), _check(0, 2, False, 200)]
    rates = leak_rates(checks)
    assert rates["<32"] == {"face_frames": 2, "leaked": 1, "rate": 0.5}
    assert rates["32-96"]["rate"] == 1.0
    assert rates[">96"]["leaked"] == 0
    assert rates["all"]["face_frames"] == 4 and rates["all"]["leaked"] == 2
    assert [size_bin(s) for s in (31.9, 32, 96, 96.1)] == ["<32", "32-96", "32-96", ">96"]
