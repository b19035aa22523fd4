"""Cross-view association and 3D identities on synthetic skeletons projected into the lab's cameras."""

from __future__ import annotations

import numpy as np

from anonymotion.multiview.association import EpipolarAssociator, Person2D
from anonymotion.multiview.tracking import MultiviewTriangulator
from anonymotion.pose.skeletons import MEDIAPIPE_33


def _person(cam, pts, noise=0.0, rng=None) -> Person2D:
    xy = cam.project(pts)
    if noise:
        xy = xy + rng.normal(0, noise, xy.shape)
    return Person2D(xy=xy, score=np.full(len(pts), 0.9))


def test_two_people_are_grouped_per_view_whatever_their_order(lab_calibration, skeleton):
    cams = lab_calibration.cameras
    a = skeleton((-1000, 0, 0))
    b = skeleton((-300, 900, 0), yaw=2.0)  # a bystander 1.1 m away
    rng = np.random.default_rng(0)
    views = [
        [_person(cams[0], b, 2, rng), _person(cams[0], a, 2, rng)],
        [_person(cams[1], a, 2, rng), _person(cams[1], b, 2, rng)],
        [_person(cams[2], a, 2, rng)],  # b not seen by cam03
        None,  # cam04 dropped this frame
    ]
    groups = EpipolarAssociator(cams).associate(views)
    assert {0: 1, 1: 0, 2: 0} in groups
    assert {0: 0, 1: 1} in groups
    assert len(groups) == 2


def test_a_person_seen_in_one_view_only_stays_alone(lab_calibration, skeleton):
    cams = lab_calibration.cameras
    a = skeleton((-1000, 0, 0))
    far = skeleton((-1000, -2500, 0))
    views = [[_person(cams[0], a)], [_person(cams[1], a), _person(cams[1], far)], [], []]
    groups = EpipolarAssociator(cams).associate(views)
    assert {0: 0, 1: 0} in groups and {1: 1} in groups


def test_engine_keeps_two_people_apart_over_time_and_recovers_their_points(lab_calibration, skeleton):
    cams = lab_calibration.cameras
    engine = MultiviewTriangulator(cams, MEDIAPIPE_33, up=lab_calibration.up)
    rng = np.random.default_rng(1)
    truth_a, truth_b = [], []
    for f in range(30):
        a = skeleton((-1200 + 15 * f, 0, 0))  # walks 0.9 m/s
        b = skeleton((-200, 900 - 10 * f, 0), yaw=2.0)
        truth_a.append(a)
        truth_b.append(b)
        views = []
        for c, cam in enumerate(cams):
            persons = [_person(cam, a), _person(cam, b)] if c < 2 else [_person(cam, a)]
            order = rng.permutation(len(persons))
            views.append([persons[i] for i in order])
        engine.update(f / 60, views)
    result = engine.finish()
    assert [p.id for p in result.persons] == ["person1", "person2"]
    p1, p2 = result.persons  # person1: the one with most keypoints (seen by 4 cameras)
    assert p1.present.all() and p2.present.all()
    np.testing.assert_allclose(p1.points, np.array(truth_a), atol=1e-3)
    np.testing.assert_allclose(p2.points, np.array(truth_b), atol=1e-3)
    assert (p1.views == 4).all() and (p2.views == 2).all()


def test_a_frame_missing_in_a_view_leaves_that_view_out(lab_calibration, skeleton):
    cams = lab_calibration.cameras
    engine = MultiviewTriangulator(cams, MEDIAPIPE_33)
    a = skeleton((-1000, 0, 0))
    for f in range(5):
        views = [[_person(cam, a)] for cam in cams]
        if f == 2:
            views[1] = None
        engine.update(f / 60, views)
    result = engine.finish()
    (p,) = result.persons
    assert result.view_present[:, 1].tolist() == [True, True, False, True, True]
    assert (p.views[2] == 3).all() and (p.views[[0, 1, 3, 4]] == 4).all()
    assert (p.members[2] == [0, -1, 0, 0]).all()


def test_no_person_anywhere_gives_an_empty_result(lab_calibration, skeleton):
    engine = MultiviewTriangulator(lab_calibration.cameras, MEDIAPIPE_33)
    for f in range(3):
        engine.update(f / 60, [[], [], [], []])
    result = engine.finish()
    assert result.persons == () and len(result.t) == 3
