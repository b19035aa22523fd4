"""Cross-view head geometry: heads put in 3D from pose or from boxes of two views land on the head in every view."""

from __future__ import annotations

import numpy as np
import pytest

from anonymotion.multiview.heads import (
    HEAD_RADIUS, Head3D, box_heads, covered_by, merge_heads, pose_head, project_head,
)
from anonymotion.pose.skeletons import MEDIAPIPE_33


def _box_around(cam, centre, radius):
    return project_head(Head3D(np.asarray(centre, float), radius, (), "x"), cam)


def test_pose_head_is_centred_between_the_ears(skeleton):
    pts = skeleton((-1000, 0, 0))
    head = pose_head(pts, MEDIAPIPE_33, [0, 2, 1])
    ears = (pts[MEDIAPIPE_33.index("left_ear")] + pts[MEDIAPIPE_33.index("right_ear")]) / 2
    np.testing.assert_allclose(head.centre, ears)
    assert head.radius == HEAD_RADIUS and head.views == (0, 1, 2) and head.kind == "pose"
    pts[MEDIAPIPE_33.index("left_ear")] = np.nan  # one ear missing: the mean of the face points
    assert np.linalg.norm(pose_head(pts, MEDIAPIPE_33, [0]).centre - ears) < 120
    pts[:11] = np.nan
    assert pose_head(pts, MEDIAPIPE_33, [0]) is None


def test_a_face_boxed_in_two_views_is_projected_onto_the_head_in_the_others(lab_calibration):
    cams = lab_calibration.cameras
    centre = np.array([-1000.0, 0.0, 1600.0])
    truth = [_box_around(c, centre, 100.0) for c in cams]
    boxes = [truth[0][None], truth[1][None], np.zeros((0, 4)), None]  # cam03's detector missed; cam04 dropped
    (head,) = box_heads(cams, boxes)
    assert np.linalg.norm(head.centre - centre) < 1.0 and head.views == (0, 1) and head.kind == "boxes"
    assert head.radius == pytest.approx(140.0, rel=0.02)  # 100 mm box half-size x 1.4
    for cam in cams[2:]:  # where no detector found it, the projection covers the true head
        box = project_head(head, cam)
        u, v = cam.project(centre)
        assert box[0] < u < box[2] and box[1] < v < box[3]
        assert (box[2] - box[0]) == pytest.approx(1.4 * (_box_around(cam, centre, 100.0)[2] - _box_around(cam, centre, 100.0)[0]))


def test_boxes_of_different_people_are_not_joined(lab_calibration):
    cams = lab_calibration.cameras
    a, b = np.array([-1000.0, 0.0, 1600.0]), np.array([-1500.0, 600.0, 1700.0])
    boxes = [np.stack([_box_around(cams[0], a, 90), _box_around(cams[0], b, 90)]),
             np.stack([_box_around(cams[1], b, 90), _box_around(cams[1], a, 90)]),
             _box_around(cams[2], a, 90)[None], np.zeros((0, 4))]
    heads = box_heads(cams, boxes)
    centres = sorted((h.centre for h in heads), key=lambda c: c[1])
    assert len(heads) == 2
    np.testing.assert_allclose(centres[0], a, atol=1.0)
    np.testing.assert_allclose(centres[1], b, atol=1.0)


def test_a_box_in_one_view_only_is_not_a_3d_head(lab_calibration):
    cams = lab_calibration.cameras
    box = _box_around(cams[0], [-1000.0, 0.0, 1600.0], 90)
    assert box_heads(cams, [box[None], np.zeros((0, 4)), np.zeros((0, 4)), np.zeros((0, 4))]) == []


def test_merge_keeps_the_pose_centre_and_unites_the_views():
    pose = Head3D(np.array([0.0, 0.0, 1600.0]), 140.0, (0, 1, 2), "pose")
    box = Head3D(np.array([60.0, 0.0, 1620.0]), 160.0, (1, 3), "boxes")
    other = Head3D(np.array([900.0, 0.0, 1600.0]), 120.0, (0, 3), "boxes")
    merged = merge_heads([box, other, pose])
    assert len(merged) == 2
    m = next(h for h in merged if h.kind == "pose+boxes")
    np.testing.assert_allclose(m.centre, pose.centre)
    assert m.views == (0, 1, 2, 3) and m.radius == 160.0


def test_projection_behind_or_outside_a_camera_is_none(lab_calibration):
    cam = lab_calibration.cameras[0]
    behind = cam.center + 1000 * (-cam.R[2])  # one metre behind the camera
    assert project_head(Head3D(behind, 140.0, (1,), "pose"), cam) is None
    far_side = cam.center + 3000 * cam.R[2] + 5000 * cam.R[0]  # in front but far out of the frame
    assert project_head(Head3D(far_side, 140.0, (1,), "pose"), cam) is None


def test_covered_by_checks_own_box_centres():
    head_box = np.array([100.0, 100.0, 200.0, 200.0])
    assert covered_by(head_box, np.array([[140, 140, 170, 180]]))
    assert not covered_by(head_box, np.array([[300, 300, 340, 340]]))
    assert not covered_by(head_box, np.zeros((0, 4)))
