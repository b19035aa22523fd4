"""Subject following: parsing the subject, and on the street clip the hip centre never jumps."""

from __future__ import annotations

import numpy as np
import pytest

from anonymotion.errors import ConfigError
from anonymotion.pose.subject import SubjectSpec, parse_subject

pytestmark = pytest.mark.timeout(600)  # the pose model over real clips


def test_parse_subject():
    assert parse_subject(None) is None
    assert parse_subject("auto") == SubjectSpec("auto")
    assert parse_subject("640,360") == SubjectSpec("point", point=(640.0, 360.0))
    assert parse_subject("10, 20, 110, 220") == SubjectSpec("box", box=(10.0, 20.0, 110.0, 220.0))
    with pytest.raises(ConfigError, match="--subject must be"):
        parse_subject("left person")
    with pytest.raises(ConfigError, match="X1 < X2"):
        parse_subject("100,20,10,220")


def _hip_torso(poses):
    hip = poses.xy[:, [poses.names.index("left_hip"), poses.names.index("right_hip")]].mean(axis=1)
    sho = poses.xy[:, [poses.names.index("left_shoulder"), poses.names.index("right_shoulder")]].mean(axis=1)
    return hip, np.linalg.norm(sho - hip, axis=1)


@pytest.mark.slow
def test_street_subject_hip_centre_never_jumps(shared_data):
    from anonymotion.evaluation import pose_video

    path = shared_data("street_720p50.avi")
    poses = pose_video(path, subject="auto", max_frames=80)
    hip, torso = _hip_torso(poses)
    valid = np.flatnonzero(np.isfinite(hip).all(axis=1))
    assert valid.size >= 70, "the subject must be followed for most of the clip"
    # between consecutive frames where the subject is seen: under a torso length
    # (a switch to another person in this crowd moves the hip by several torso lengths)
    for a, b in zip(valid[:-1], valid[1:]):
        step = np.linalg.norm(hip[b] - hip[a])
        limit = torso[a] * (0.75 if b == a + 1 else 1.5)
        assert step <= limit, f"hip centre jumped {step:.0f} px between frames {a} and {b}"
    # every frame without the subject after it was first found is reported as lost
    first = valid[0]
    missing = np.setdiff1d(np.arange(first, len(hip)), valid)
    assert np.array_equal(np.flatnonzero(poses.lost), missing)
    assert poses.subject == "auto"


@pytest.mark.slow
def test_box_subject_follows_the_person_in_the_box(shared_data):
    from anonymotion.evaluation import pose_video

    path = shared_data("lab_single/cam01.mp4")
    free = pose_video(path, max_frames=8)
    hip, _ = _hip_torso(free)
    x, y = hip[0]
    boxed = pose_video(path, subject=f"{x - 150:.0f},{y - 300:.0f},{x + 150:.0f},{y + 300:.0f}", max_frames=8)
    bh, _ = _hip_torso(boxed)
    assert np.isfinite(bh).all() and not boxed.lost.any()
    assert np.max(np.linalg.norm(bh - hip, axis=1)) < 25  # same person, keypoints mapped back to full frame
    # a box around empty floor finds nobody: NaN, never someone else
    h = boxed.size[1]
    empty = pose_video(path, subject=f"0,{h - 200},150,{h - 1}", max_frames=3)
    assert not empty.present.any()
