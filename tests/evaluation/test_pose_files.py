"""Pose files of several persons: a person column, each person's own frames and angles, layouts."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from anonymotion.evaluation import write_pose_outputs
from anonymotion.pose.people import PersonsPoses
from anonymotion.pose.skeletons import MEDIAPIPE_33
from kit import standing_person

K = len(MEDIAPIPE_33)


@pytest.fixture()
def two_persons() -> PersonsPoses:
    t = np.arange(4) / 25
    xy = np.full((2, 4, K, 2), np.nan, np.float32)
    xy[0] = standing_person(200, 500, torso=240)  # person 1 in every frame
    xy[1, 1:3] = standing_person(700, 350, torso=120)  # person 3 (smaller) in frames 1 and 2 only
    score = np.where(np.isfinite(xy).all(-1), 0.9, 0.0).astype(np.float32)
    world = np.where(np.isfinite(xy)[..., :1], 0.1, np.nan).repeat(3, -1).astype(np.float32)
    return PersonsPoses(t=t, ids=np.array([1, 3]), xy=xy, score=score, names=MEDIAPIPE_33, size=(1000, 900),
                        world=world)


def test_every_person_on_its_own_frames_with_a_person_column(two_persons, tmp_path):
    files = write_pose_outputs(two_persons, tmp_path / "clip")
    rows = list(csv.DictReader(open(files["pose_csv"])))
    per = {p: sorted({int(r["frame"]) for r in rows if r["person"] == p}) for p in ("1", "3")}
    assert per == {"1": [0, 1, 2, 3], "3": [1, 2]}
    assert len(rows) == 6 * K
    hip3 = next(r for r in rows if r["person"] == "3" and r["keypoint"] == "left_hip")
    assert float(hip3["x"]) == pytest.approx(700 + 30, abs=1) and float(hip3["y"]) == pytest.approx(350)
    angles = list(csv.DictReader(open(files["angles_csv"])))
    assert [(a["frame"], a["person"]) for a in angles] == [("0", "1"), ("1", "1"), ("1", "3"), ("2", "1"),
                                                           ("2", "3"), ("3", "1")]
    assert all(a["left_knee"] != "" for a in angles)  # angles computed per person
    assert files["angles_png"].stat().st_size > 0


def test_layouts_keep_the_person_column(two_persons, tmp_path):
    files = write_pose_outputs(two_persons, tmp_path / "clip", layout="coco17")
    rows = list(csv.DictReader(open(files["pose_csv"])))
    assert len(rows) == 6 * 17 and {r["person"] for r in rows} == {"1", "3"}
    files = write_pose_outputs(two_persons, tmp_path / "b25", layout="body25")
    rows = list(csv.DictReader(open(files["pose_csv"])))
    assert len(rows) == 6 * 25 and rows[1]["keypoint"] == "Neck"


def test_subject_selection(two_persons):
    assert two_persons.subject_id("auto") == 1  # taller and present in every frame
    assert two_persons.subject_id("3") == 3
    assert two_persons.subject_id("700,300") == 3  # a point on person 3
    assert two_persons.subject_id("650,300,750,400") == 3  # person 3's hips lie in this box
    assert two_persons.subject_id("10,10,20,20") is None
    from anonymotion.errors import ConfigError

    with pytest.raises(ConfigError, match=r"no person with id 2 \(persons found: 1, 3\)"):
        two_persons.subject_id("2")
    lone = two_persons.person(3)
    assert lone.lost.tolist() == [False, False, False, True]  # absent after it was first seen
