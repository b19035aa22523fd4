"""SubjectFollower's decisions on scripted detections (the model is replaced by a script
here on purpose: this tests the follower's crop / accept / reject logic, not the model).

Frames encode their own pixel coordinates, so the scripted backend can tell which crop it
was given and answer in crop pixels like a real backend does.
"""

from __future__ import annotations

import numpy as np

from anonymotion.pose.backend import PoseFrame
from anonymotion.pose.skeletons import MEDIAPIPE_33 as N
from anonymotion.pose.subject import SubjectFollower, SubjectSpec
from kit import standing_person

W, H = 1200, 600


def coded_frame() -> np.ndarray:
    """R = x mod 256, G = y mod 256, B = (x div 256) + 16 (y div 256)."""
    y, x = np.mgrid[0:H, 0:W]
    return np.stack([x % 256, y % 256, (x // 256) + 16 * (y // 256)], axis=-1).astype(np.uint8)


def person(cx: float, cy: float, torso: float = 100.0) -> np.ndarray:
    """(33, 2) full-frame keypoints of the kit's upright person with hip centre (cx, cy)."""
    return standing_person(cx=cx, hip_y=cy, torso=torso)


class ScriptedBackend:
    """Answers frame i with script[i] (full-frame keypoints or None), if inside the crop."""

    names = N

    def __init__(self, script: list[np.ndarray | None], calls: list[tuple[int, int, int, int]]) -> None:
        self.script, self.calls = script, calls

    def process(self, rgb: np.ndarray, t: float) -> PoseFrame:
        r, g, b = (int(v) for v in rgb[0, 0])
        x0, y0 = r + 256 * (b % 16), g + 256 * (b // 16)
        self.calls.append((x0, y0, x0 + rgb.shape[1], y0 + rgb.shape[0]))
        xy = self.script[round(t * 10)]
        if xy is None:
            return PoseFrame.empty(33)
        inside = (xy[:, 0] >= x0) & (xy[:, 0] < x0 + rgb.shape[1]) & (xy[:, 1] >= y0) & (xy[:, 1] < y0 + rgb.shape[0])
        if not inside.all():
            return PoseFrame.empty(33)
        return PoseFrame(xy=(xy - (x0, y0)).astype(np.float32), score=np.full(33, 0.9, np.float32),
                         world=np.zeros((33, 3), np.float32))

    def close(self) -> None:
        pass


def run(script, spec):
    calls: list = []
    follower = SubjectFollower(lambda: ScriptedBackend(script, calls), spec)
    frame = coded_frame()
    out = [follower.process(frame, i / 10) for i in range(len(script))]
    return follower, out, calls


def test_follower_rejects_a_switch_and_reports_lost_frames_then_reacquires():
    a = [person(300 + 4 * i, 300) for i in range(10)]
    script = a[:4] + [person(900, 300)] * 2 + [None] + a[7:]  # someone else, then nobody, then the subject
    follower, out, calls = run(script, SubjectSpec("box", box=(200, 150, 400, 450)))
    hips = np.array([o.xy[[N.index("left_hip"), N.index("right_hip")]].mean(axis=0) for o in out])
    assert np.isfinite(hips[[0, 1, 2, 3, 7, 8, 9]]).all()
    assert np.isnan(hips[[4, 5, 6]]).all()  # never filled with the other person
    assert follower.lost == [4, 5, 6]
    assert np.allclose(hips[9], (336, 300), atol=1e-3)  # mapped back to full-frame pixels
    assert follower.acquired_at == 0
    x1, y1, x2, y2 = calls[1]
    assert x2 - x1 < W and x1 <= 280 and x2 >= 320  # pose ran on a crop around the subject


def test_point_subject_ignores_people_elsewhere():
    script = [person(900, 300)] * 3 + [person(300, 300)] * 3
    follower, out, _ = run(script, SubjectSpec("point", point=(300, 250)))
    assert [o.found for o in out] == [False] * 3 + [True] * 3
    assert follower.acquired_at == 3 and follower.lost == []
