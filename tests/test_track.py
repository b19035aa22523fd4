"""RegionTracker on synthetic detections: interpolation, hold, dilation, ids, gap records."""

from __future__ import annotations

import numpy as np
import pytest

from anonymotion.track.regions import HELD_SCALE, RegionTracker, detect_every, iou_matrix, match
from anonymotion.types import Regions
from kit import regions

FPS = 25.0


def dets(*boxes: tuple[float, float, float, float], source: str = "centerface") -> Regions:
    """One frame's detections as a detector reports them: score 0.9, untracked (id -1)."""
    return regions(*boxes, track_ids=-1, source=source)


def run(tracker: RegionTracker, per_frame: list[Regions | None]) -> dict[int, Regions]:
    """Push every frame at 25 fps, flush, and return index -> final Regions (checks order)."""
    out: list[tuple[int, Regions]] = []
    for i, d in enumerate(per_frame):
        out += tracker.push(i, i / FPS, d)
    out += tracker.flush()
    indices = [i for i, _ in out]
    assert indices == list(range(len(per_frame))), "every frame exactly once, in order"
    return dict(out)


def assert_held(actual: np.ndarray, expected: tuple[float, float, float, float]) -> None:
    """A held box is the expected box grown by HELD_SCALE about the same centre."""
    e = np.asarray(expected, np.float64)
    c, half = (e[:2] + e[2:]) / 2, (e[2:] - e[:2]) * HELD_SCALE / 2
    np.testing.assert_allclose(actual, np.concatenate([c - half, c + half]), atol=1e-3)
    assert HELD_SCALE > 1.0


def box_at(x: float, size: float = 40.0) -> tuple[float, float, float, float]:
    return (x, 100.0, x + size, 100.0 + size)


def test_gap_of_three_frames_is_interpolated_and_recorded() -> None:
    frames: list[Regions | None] = [dets(box_at(10.0 + 4 * i)) for i in range(20)]
    for i in (8, 9, 10):
        frames[i] = Regions.empty()
    tracker = RegionTracker(hold=0.2)
    final = run(tracker, frames)
    for i in (8, 9, 10):
        r = final[i]
        assert len(r) == 1 and r.sources == ("held",)
        assert_held(r.boxes[0], box_at(10.0 + 4 * i))  # linear motion
    ids = {int(final[i].track_ids[0]) for i in range(20)}
    assert len(ids) == 1 and ids.pop() >= 0, "one face keeps one track id throughout"
    interp = [g for g in tracker.gaps if g["kind"] == "interpolated"]
    assert len(interp) == 1
    g = interp[0]
    assert (g["from_index"], g["to_index"], g["frames"]) == (8, 10, 3)
    assert g["from_t"] == pytest.approx(8 / FPS) and g["to_t"] == pytest.approx(10 / FPS)


def test_default_hold_covers_a_fifth_of_a_second_at_50fps() -> None:
    tracker = RegionTracker()
    frames: list[Regions | None] = [dets(box_at(50.0)) for _ in range(40)]
    for i in range(10, 20):  # 10 missing frames = 0.2 s at 50 fps
        frames[i] = Regions.empty()
    out: list[tuple[int, Regions]] = []
    for i, d in enumerate(frames):
        out += tracker.push(i, i / 50.0, d)
    out += tracker.flush()
    final = dict(out)
    assert all(len(final[i]) == 1 for i in range(40))
    assert {int(final[i].track_ids[0]) for i in range(40)} == {0}
    assert [g["frames"] for g in tracker.gaps if g["kind"] == "interpolated"] == [10]


def test_gap_longer_than_hold_is_not_filled() -> None:
    frames: list[Regions | None] = [Regions.empty() for _ in range(40)]
    for i in list(range(0, 5)) + list(range(30, 40)):
        frames[i] = dets(box_at(50.0))
    tracker = RegionTracker(hold=0.2)  # 5 frames at 25 fps
    final = run(tracker, frames)
    held_forward = [i for i in range(5, 30) if len(final[i])]
    # forward hold of 0.2 s after frame 4 and backward dilation of 0.2 s before frame 30 only
    assert held_forward == [5, 6, 7, 8, 9, 25, 26, 27, 28, 29]
    assert all(len(final[i]) == 0 for i in range(10, 25)), "the middle of a long gap stays empty"
    assert not [g for g in tracker.gaps if g["kind"] == "interpolated"]
    assert final[4].track_ids[0] != final[30].track_ids[0], "a face back after a long gap is a new track"


def test_new_track_is_dilated_backward_and_ended_track_held_forward() -> None:
    frames: list[Regions | None] = [Regions.empty() for _ in range(30)]
    for i in range(12, 18):
        frames[i] = dets(box_at(200.0))
    tracker = RegionTracker(hold=0.2)
    final = run(tracker, frames)
    covered = [i for i in range(30) if len(final[i])]
    assert covered == list(range(7, 23))
    for i in list(range(7, 12)) + list(range(18, 23)):
        assert final[i].sources == ("held",)
        assert_held(final[i].boxes[0], box_at(200.0))
    kinds = sorted((g["kind"], g["from_index"], g["to_index"]) for g in tracker.gaps)
    assert kinds == [("dilate", 7, 11), ("hold", 18, 22)]


def test_track_ids_stable_for_two_crossing_faces() -> None:
    frames: list[Regions | None] = []
    for i in range(20):
        a = box_at(10.0 + 5 * i)
        b = (300.0 - 5 * i, 300.0, 340.0 - 5 * i, 340.0)
        frames.append(dets(a, b) if i != 7 else dets(b))  # face a missed in frame 7
    final = run(RegionTracker(), frames)
    by_id: dict[int, list[float]] = {}
    for i in range(20):
        assert len(final[i]) == 2
        for box, tid in zip(final[i].boxes, final[i].track_ids):
            by_id.setdefault(int(tid), []).append(round(float(box[1] + box[3]) / 2, 3))
    assert len(by_id) == 2
    for ys in by_id.values():
        assert len(set(ys)) == 1, "each id stays on the same face (same row centre)"


def test_tiny_moving_boxes_link_by_centre_distance() -> None:
    # a 12 px face moving 6 px per detection: IoU with the previous box is below 0.2
    frames: list[Regions | None] = [dets((100.0 + 6 * i, 50.0, 112.0 + 6 * i, 62.0)) for i in range(10)]
    final = run(RegionTracker(), frames)
    assert {int(final[i].track_ids[0]) for i in range(10)} == {0}


def test_held_box_duplicating_a_detection_is_dropped() -> None:
    # a duplicate detection in frame 5 starts a second track on the same face; its backward
    # dilation and forward hold would only cover the face twice, so they are dropped
    frames: list[Regions | None] = [dets(box_at(100.0)) for _ in range(5)]
    frames += [dets(box_at(100.0), box_at(100.0)) for _ in range(1)]  # duplicate detection
    frames += [dets(box_at(100.0)) for _ in range(10)]
    final = run(RegionTracker(), frames)
    for i in range(16):
        assert sum(1 for s in final[i].sources if s == "held") == 0, "no held copy over a detected face"


def test_frames_without_detections_yield_empty_regions() -> None:
    tracker = RegionTracker()
    final = run(tracker, [Regions.empty()] * 5 + [None] * 3)
    assert all(len(r) == 0 for r in final.values())
    assert all(r.boxes.shape == (0, 4) for r in final.values())
    assert tracker.gaps == []


def test_not_examined_frames_are_interpolated_without_counting_as_gaps() -> None:
    frames: list[Regions | None] = [dets(box_at(10.0 + 3 * i)) if i % 4 == 0 else None for i in range(21)]
    tracker = RegionTracker()
    final = run(tracker, frames)
    for i in range(21):
        assert len(final[i]) == 1
        if i % 4 == 0:
            assert final[i].sources == ("centerface",)
            np.testing.assert_allclose(final[i].boxes[0], box_at(10.0 + 3 * i), atol=1e-3)
        else:
            assert final[i].sources == ("held",)
            assert_held(final[i].boxes[0], box_at(10.0 + 3 * i))
    assert tracker.gaps == [], "skipped frames are not detector dropouts"


def test_output_is_delayed_by_about_hold_only() -> None:
    tracker = RegionTracker(hold=0.2)
    emitted = []
    for i in range(50):
        emitted += [j for j, _ in tracker.push(i, i / FPS, Regions.empty())]
        assert i - (emitted[-1] if emitted else -1) <= 0.2 * FPS + 3, "bounded queue"


def test_rejects_out_of_order_frames_and_bad_parameters() -> None:
    tracker = RegionTracker()
    tracker.push(3, 0.12, Regions.empty())
    with pytest.raises(ValueError, match="increasing"):
        tracker.push(2, 0.08, Regions.empty())
    with pytest.raises(ValueError):
        RegionTracker(hold=-1)
    with pytest.raises(ValueError):
        RegionTracker(iou=0)


def test_iou_and_match_helpers() -> None:
    a = np.array([[0, 0, 10, 10]], np.float32)
    b = np.array([[5, 0, 15, 10], [100, 100, 110, 110]], np.float32)
    np.testing.assert_allclose(iou_matrix(a, b), [[1 / 3, 0.0]])
    assert match(a, b, 0.2) == [(0, 0)]
    assert match(a, b[1:], 0.2) == []


def test_detect_every_keeps_detections_close_in_time() -> None:
    assert [detect_every(f) for f in (15, 24, 25, 30, 50, 60)] == [1, 2, 2, 2, 3, 4]
    assert detect_every(50, hold=0) == 1 and detect_every(0) == 1
    assert detect_every(240, hold=0.05) == 6  # capped at half the hold


@pytest.mark.slow
@pytest.mark.timeout(300)  # the face detector over a real clip
def test_detecting_every_third_frame_still_covers_the_street_faces(shared_data) -> None:
    """Real video: faces the detector finds on frames it skipped stay inside tracked regions."""
    import av

    from anonymotion.detect.faces import make_face_detector

    det = make_face_detector()
    every_frame: list[Regions] = []
    times: list[float] = []
    with av.open(str(shared_data("street_720p50.avi"))) as c:
        for i, vf in enumerate(c.decode(video=0)):
            if i >= 100 and len(every_frame) < 24:  # a stretch with a shaking camera and many faces
                every_frame.append(det.detect(vf.to_ndarray(format="rgb24")))
                times.append(float(vf.time))
            elif len(every_frame) == 24:
                break
    tracker = RegionTracker()
    out: list[tuple[int, Regions]] = []
    for i, (r, t) in enumerate(zip(every_frame, times)):
        out += tracker.push(i, t, r if i % 3 == 0 else None)
    out += tracker.flush()
    inside = total = 0
    for i, final in out:
        if i % 3 == 0:
            continue
        for x1, y1, x2, y2 in every_frame[i].boxes:  # faces the skipped frame would have shown
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            b = final.boxes
            total += 1
            inside += bool(((b[:, 0] < cx) & (cx < b[:, 2]) & (b[:, 1] < cy) & (cy < b[:, 3])).any())
    assert total > 100
    # measured: 203 of 220; the rest are faces the detector saw only on a skipped frame
    assert inside / total >= 0.88, f"only {inside}/{total} skipped-frame faces inside tracked regions"


def test_weak_candidates_continue_a_tracked_face_and_never_start_one():
    """A face walking across the frame whose score drops below the threshold for 12 frames
    (0.48 s, longer than the hold) stays covered by the weak candidates that follow its track;
    a weak candidate elsewhere (a sign, a hand) is never covered."""
    tracker = RegionTracker(hold=0.2)
    out: list[tuple[int, Regions]] = []
    n = 30
    for i in range(n):
        face = box_at(20.0 + 4 * i)
        strong = dets(face) if i < 5 or i >= 17 else Regions.empty()
        weak = dets(face, box_at(400.0)) if 5 <= i < 17 else dets(box_at(400.0))
        out += tracker.push(i, i / FPS, strong, weak)
    out += tracker.flush()
    final = dict(out)
    assert sorted(final) == list(range(n))
    for i in range(n):
        boxes = final[i].boxes
        covering = [b for b in boxes if iou_matrix(b[None].astype(np.float64),
                                                   np.asarray([box_at(20.0 + 4 * i)], np.float64))[0, 0] > 0.5]
        assert covering, f"the tracked face is not covered in frame {i}"
        assert not any(b[0] > 300 for b in boxes), f"a weak candidate started a region in frame {i}"
    assert len({int(t) for r in final.values() for t in r.track_ids}) == 1, "one face, one track"

    # without the weak candidates the same face is lost in the middle of its dropout
    plain = RegionTracker(hold=0.2)
    lost = dict([*sum((plain.push(i, i / FPS, dets(box_at(20.0 + 4 * i)) if i < 5 or i >= 17 else Regions.empty())
                       for i in range(n)), []), *plain.flush()])
    assert any(len(lost[i]) == 0 for i in range(5, 17))
