"""Face landmarks through the RegionTracker: carried with the box, smoothed, held, interpolated."""

from __future__ import annotations

import numpy as np
import pytest

from anonymotion.track.landmarks import LANDMARK_TAU, from_box_shares, smooth_shares, to_box_shares
from anonymotion.track.regions import RegionTracker
from anonymotion.types import Regions

FPS = 25.0
SHARES = np.array([[0.3, 0.4], [0.7, 0.4], [0.5, 0.6], [0.35, 0.78], [0.65, 0.78]])  # a frontal face


def face(x: float, shares: np.ndarray | None = SHARES, size: float = 50.0) -> Regions:
    box = np.array([[x, 100.0, x + size, 100.0 + size * 1.2]], np.float32)
    marks = None if shares is None else from_box_shares(shares, box[0].astype(np.float64))[None].astype(np.float32)
    return Regions(box, np.array([0.9], np.float32), np.array([-1]), ("centerface",), landmarks=marks)


def run(frames: list[Regions | None]) -> dict[int, Regions]:
    tracker = RegionTracker(hold=0.2)
    out: dict[int, Regions] = {}
    for i, d in enumerate(frames):
        out.update(tracker.push(i, i / FPS, d))
    out.update(tracker.flush())
    return out


def test_shares_round_trip_and_smoothing_weights():
    box = np.array([10.0, 20.0, 60.0, 80.0])
    np.testing.assert_allclose(to_box_shares(from_box_shares(SHARES, box), box), SHARES)
    new = SHARES + 0.1
    assert smooth_shares(None, new, 0.04) is new or np.allclose(smooth_shares(None, new, 0.04), new)
    assert smooth_shares(SHARES, None, 0.04) is None  # a detection without landmarks: unknown again
    half = smooth_shares(SHARES, new, LANDMARK_TAU * np.log(2))
    np.testing.assert_allclose(half, SHARES + 0.05)


def test_missed_frames_carry_landmarks_moved_with_the_box():
    frames: list[Regions | None] = [face(10.0 + 3 * i) for i in range(16)]
    for i in (6, 7, 8):
        frames[i] = Regions.empty()
    final = run(frames)
    for i in range(16):
        r = final[i]
        assert len(r) == 1 and r.landmarks is not None
        truth = from_box_shares(SHARES, np.array([10.0 + 3 * i, 100.0, 60.0 + 3 * i, 160.0]))
        np.testing.assert_allclose(r.landmarks[0], truth, atol=0.01)  # held boxes grow; landmarks stay on the face
    assert final[7].sources == ("held",)


def test_landmark_jitter_is_smoothed_and_the_box_is_not():
    rng = np.random.default_rng(3)
    jitter = rng.normal(0, 0.03, (30, 5, 2))
    final = run([face(40.0, SHARES + jitter[i]) for i in range(30)])
    raw = np.std(jitter[10:, :, 0] * 50.0)
    shares = np.stack([to_box_shares(final[i].landmarks[0], final[i].boxes[0].astype(np.float64))
                       for i in range(10, 30)])
    smoothed = np.std((shares - SHARES)[:, :, 0] * 50.0)
    assert smoothed < 0.7 * raw
    np.testing.assert_allclose(final[12].boxes[0], face(40.0).boxes[0])


def test_a_detection_without_landmarks_makes_them_unknown():
    final = run([face(40.0)] * 5 + [face(40.0, None)] * 5)
    assert np.isfinite(final[2].landmarks).all()
    assert np.isnan(final[7].landmarks).all()
    assert "landmarks" not in final[7].to_records()[0]
    rec = final[2].to_records()[0]["landmarks"]
    assert len(rec) == 5 and rec[0] == pytest.approx(list(from_box_shares(SHARES, np.array([40.0, 100, 90, 160]))[0]),
                                                     abs=0.06)
