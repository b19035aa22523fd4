"""The pose backend contract on real frames: MediaPipe finds the lab participant, NaN without a person."""

from __future__ import annotations

import numpy as np
import pytest

from anonymotion.errors import ConfigError
from anonymotion.io.video import iter_frames, probe
from anonymotion.pose.backend import PoseFrame, make_pose_backend
from anonymotion.pose.skeletons import COCO_17, MEDIAPIPE_33, draw_skeleton

pytestmark = pytest.mark.timeout(300)  # the pose model


def test_unknown_backend_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown pose backend 'nope'"):
        make_pose_backend("nope")


def test_blank_frames_give_nan_keypoints_not_a_crash():
    backend = make_pose_backend("mediapipe")
    try:
        for i in range(3):
            frame = backend.process(np.full((240, 320, 3), 30, np.uint8), i / 25)
            assert frame.xy.shape == (33, 2) and np.isnan(frame.xy).all()
            assert frame.score.shape == (33,) and (frame.score == 0).all()
            assert np.isnan(frame.world).all() and not frame.found
    finally:
        backend.close()


@pytest.mark.slow
def test_mediapipe_finds_the_lab_participant(shared_data):
    path = shared_data("lab_single/cam01.mp4")
    info = probe(path)
    backend = make_pose_backend("mediapipe")
    frames: list[PoseFrame] = []
    try:
        for frame in iter_frames(path, info):
            frames.append(backend.process(frame.rgb, frame.t))
            if frame.index == 4:
                break
    finally:
        backend.close()
    assert backend.names == MEDIAPIPE_33
    for pf in frames:
        assert pf.found
        assert pf.xy.dtype == np.float32 and pf.world.shape == (33, 3)
        # keypoints lie inside the upright 1088x1920 frame, hips below shoulders
        assert (pf.xy[:, 0] > 0).all() and (pf.xy[:, 0] < info.width).all()
        assert (pf.xy[:, 1] > 0).all() and (pf.xy[:, 1] < info.height).all()
        assert pf.xy[MEDIAPIPE_33.index("left_hip"), 1] > pf.xy[MEDIAPIPE_33.index("left_shoulder"), 1]
        assert pf.score[MEDIAPIPE_33.index("left_knee")] > 0.5
        # world landmarks in metres: a plausible shoulder width
        width = np.linalg.norm(pf.world[11] - pf.world[12])
        assert 0.15 < width < 0.6
    drawn = draw_skeleton(np.zeros((info.height, info.width, 3), np.uint8), frames[0].xy, frames[0].score)
    assert drawn.any() and drawn.shape == (info.height, info.width, 3)
