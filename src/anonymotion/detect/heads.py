"""Pose-guided head regions: a box around the head from body keypoints (the gait study).

Face detectors need a visible face; a pose model still places the head of a person seen
from behind or from the side. The head box is centred on the head keypoints (nose, eyes,
ears, mouth) and sized by the largest of several anthropometric estimates, each of which
can only shrink under foreshortening: ear-to-ear span, eye-to-mouth distance, shoulder
width (when the face is turned away) and trunk length (when the person is seen side-on).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from anonymotion.types import Regions

if TYPE_CHECKING:
    from anonymotion.config import AnonymizeConfig

log = logging.getLogger(__name__)

HEAD_POINTS = ("nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
               "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right")

#: Head height (chin to crown) as a multiple of each measured distance (adult anthropometry:
#: head height ~23 cm, ear-to-ear ~14 cm, eye line to mouth ~7 cm, shoulder joints ~35 cm,
#: shoulder-to-hip midpoints ~50 cm), rounded up so the estimate errs on the large side.
RATIOS = {"ears": 1.7, "eye_mouth": 3.4, "shoulders": 0.7, "trunk": 0.5}


def _pt(xy: np.ndarray, names: tuple[str, ...], name: str) -> np.ndarray:
    return xy[names.index(name)] if name in names else np.full(2, np.nan, np.float32)


def _dist(a: np.ndarray, b: np.ndarray) -> float:
    d = float(np.hypot(*(a - b)))
    return d if np.isfinite(d) else 0.0


def head_size_estimates(xy: np.ndarray, names: tuple[str, ...]) -> dict[str, float]:
    """Head height in pixels estimated from each keypoint distance (0 where not measurable).

    xy: (K, 2) float pixels in ``names`` order, NaN for missing keypoints.
    """
    def mid(a: str, b: str) -> np.ndarray:
        return (_pt(xy, names, a) + _pt(xy, names, b)) / 2

    return {
        "ears": RATIOS["ears"] * _dist(_pt(xy, names, "left_ear"), _pt(xy, names, "right_ear")),
        "eye_mouth": RATIOS["eye_mouth"] * _dist(mid("left_eye", "right_eye"), mid("mouth_left", "mouth_right")),
        "shoulders": RATIOS["shoulders"] * _dist(_pt(xy, names, "left_shoulder"), _pt(xy, names, "right_shoulder")),
        "trunk": RATIOS["trunk"] * _dist(mid("left_shoulder", "right_shoulder"), mid("left_hip", "right_hip")),
    }


def up_direction(xy: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Unit vector (2,) from the hip midpoint to the shoulder midpoint; image "up" (0, -1) if unknown."""
    def mid(a: str, b: str) -> np.ndarray:
        return (_pt(xy, names, a) + _pt(xy, names, b)) / 2

    v = mid("left_shoulder", "right_shoulder") - mid("left_hip", "right_hip")
    n = float(np.hypot(*v)) if np.isfinite(v).all() else 0.0
    return (v / n).astype(np.float32) if n > 1e-6 else np.array([0.0, -1.0], np.float32)


#: The head centre lies this share of the head height above the ear/face keypoints, along
#: the trunk's up direction (the face keypoints sit low on the head, the crown is far above).
CENTRE_SHIFT = 0.2


def head_box(xy: np.ndarray, score: np.ndarray, names: tuple[str, ...],
             min_size: float = 8.0) -> tuple[np.ndarray, float] | None:
    """Square box (x1, y1, x2, y2) float32 pixels around the head, and its confidence.

    xy: (K, 2) pixels (NaN = missing), score: (K,) visibility. The box side is the head
    height (largest estimate, at least ``min_size`` px); its centre is the mean of the face
    keypoints and the ear midpoint, moved up by :data:`CENTRE_SHIFT` x the side along the
    trunk. The confidence is the highest visibility of the head keypoints (low when the face
    is turned away, the box is still returned: covering that case is the point). None when
    no head keypoint is known.
    """
    idx = [names.index(n) for n in HEAD_POINTS if n in names]
    pts = xy[idx]
    ok = np.isfinite(pts).all(axis=1)
    if not ok.any():
        return None
    centre = pts[ok].mean(axis=0)
    ears = (_pt(xy, names, "left_ear") + _pt(xy, names, "right_ear")) / 2
    if np.isfinite(ears).all():
        centre = (centre + ears) / 2
    size = max(max(head_size_estimates(xy, names).values()), min_size)
    centre = centre + CENTRE_SHIFT * size * up_direction(xy, names)
    half = size / 2
    box = np.array([centre[0] - half, centre[1] - half, centre[0] + half, centre[1] + half], np.float32)
    return box, float(np.max(score[idx])) if len(idx) else 0.0


class HeadSource:
    """Region source ``head``: the head of every person the pose model finds, in every frame.

    With the multi-person backend (default) every person gets a head box carrying its
    person id (stable across frames, :mod:`anonymotion.track.persons`), so in a scene with
    several people each head is covered, turned away or not. ``backend="mediapipe-legacy"``
    covers the one person that model follows.
    """

    name = "head"

    def __init__(self, config: "AnonymizeConfig | None" = None, backend: str | None = None, **options) -> None:
        from anonymotion.pose.backend import DEFAULT_BACKEND, is_multi_person, make_pose_backend
        from anonymotion.track.persons import PersonTracker, mirror_permutation

        backend = backend or DEFAULT_BACKEND
        if is_multi_person(backend):
            options.setdefault("num_poses", int(getattr(config, "num_poses", 0) or 4))
        self.backend = make_pose_backend(backend, **options)
        self.names = tuple(self.backend.names)
        self.tracker = PersonTracker(mirror=mirror_permutation(self.names))

    def detect(self, rgb: np.ndarray, t: float) -> Regions:
        """One box per person found (source "pose-head", ``persons`` = person ids), or none."""
        from anonymotion.pose.backend import detect_persons

        persons = detect_persons(self.backend, rgb, t)
        ids = self.tracker.update(persons.xy, persons.score, t)
        h, w = rgb.shape[:2]
        boxes, scores, pids = [], [], []
        for i in range(len(persons)):
            found = head_box(persons.xy[i], persons.score[i], self.names)
            if found is None:
                continue
            box, score = found
            box[[0, 2]] = box[[0, 2]].clip(0, w)
            box[[1, 3]] = box[[1, 3]].clip(0, h)
            if box[2] - box[0] < 1 or box[3] - box[1] < 1:
                continue
            boxes.append(box)
            scores.append(score)
            pids.append(int(ids[i]))
        if not boxes:
            return Regions.empty()
        n = len(boxes)
        return Regions(np.stack(boxes).astype(np.float32), np.asarray(scores, np.float32), np.full(n, -1, np.int64),
                       ("pose-head",) * n, persons=np.asarray(pids, np.int64))

    def close(self) -> None:
        self.backend.close()
