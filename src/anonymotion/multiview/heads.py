"""Heads in 3D from any view's detections, projected into every view (pure numpy).

A head is a sphere (centre in world mm, radius mm) found either

- by **pose**: a 3D person of the multi-view engine; centre = the midpoint of its ears
  (else the mean of its triangulated face keypoints), radius :data:`HEAD_RADIUS`; or
- by **boxes** (face detector or pose head boxes): box centres of two or more views that
  agree under the epipolar geometry are triangulated; radius = half the box's larger side
  back-projected at that depth, times :data:`BOX_MARGIN`, within [80, 250] mm.

Heads closer than ``merge_distance`` are one head (the pose centre wins, views united).
:func:`project_head` turns a head into a square box in one camera's pixels (centre
projected with the lens model, side from the radius at the centre's depth).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from anonymotion.multiview.association import EpipolarAssociator, Person2D
from anonymotion.multiview.camera import Camera
from anonymotion.multiview.triangulation import triangulate_points

#: Radius (mm) of the sphere covering an adult head (chin to crown ~23 cm, ears ~15 cm), with margin.
HEAD_RADIUS = 140.0
#: Growth of a face box's back-projected half-size to the head's radius (face boxes stop at brow and chin).
BOX_MARGIN = 1.4

FACE_POINTS = ("nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
               "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right")


@dataclass(frozen=True)
class Head3D:
    """A head: centre (3,) world mm, radius mm, the views whose detections found it, and how."""

    centre: np.ndarray
    radius: float
    views: tuple[int, ...]
    kind: str  # "pose", "boxes" or "pose+boxes"


def pose_head(points: np.ndarray, names: Sequence[str], views: Sequence[int],
              radius: float = HEAD_RADIUS) -> Head3D | None:
    """The head of one triangulated person: points (K, 3) mm; None without any face keypoint."""
    idx = {n: i for i, n in enumerate(names)}
    ears = [points[idx[n]] for n in ("left_ear", "right_ear") if n in idx]
    if len(ears) == 2 and np.isfinite(ears).all():
        centre = (ears[0] + ears[1]) / 2
    else:
        face = np.array([points[idx[n]] for n in FACE_POINTS if n in idx])
        face = face[np.isfinite(face).all(-1)]
        if not len(face):
            return None
        centre = face.mean(0)
    return Head3D(np.asarray(centre, np.float64), float(radius), tuple(sorted(views)), "pose")


def box_heads(cameras: Sequence[Camera], boxes: Sequence[np.ndarray | None], *, max_epipolar: float = 40.0,
              max_error: float = 20.0) -> list[Head3D]:
    """Heads triangulated from box centres seen in >= 2 views; boxes[v]: (N, 4) x1, y1, x2, y2 px or None."""
    centres = [None if b is None else [Person2D(xy=np.array([[(x1 + x2) / 2, (y1 + y2) / 2]]), score=np.ones(1))
                                       for x1, y1, x2, y2 in np.asarray(b, np.float64).reshape(-1, 4)]
               for b in boxes]
    groups = EpipolarAssociator(cameras, min_score=0.0, max_epipolar=max_epipolar, min_keypoints=1).associate(centres)
    heads = []
    for group in groups:
        if len(group) < 2:
            continue
        xy = np.full((1, len(cameras), 2), np.nan)
        for v, i in group.items():
            xy[0, v] = centres[v][i].xy[0]  # type: ignore[index]
        res = triangulate_points(cameras, xy, max_error=max_error)
        if not np.isfinite(res.points[0]).all():
            continue
        centre = res.points[0]
        radii = []
        for v in np.flatnonzero(res.used[0]):
            i = group[int(v)]
            x1, y1, x2, y2 = np.asarray(boxes[v], np.float64).reshape(-1, 4)[i]
            radii.append(0.5 * max(x2 - x1, y2 - y1) * cameras[v].depth(centre) / cameras[v].K[0, 0])
        radius = float(np.clip(np.median(radii) * BOX_MARGIN, 80.0, 250.0))
        heads.append(Head3D(centre, radius, tuple(sorted(int(v) for v in np.flatnonzero(res.used[0]))), "boxes"))
    return heads


def merge_heads(heads: Sequence[Head3D], merge_distance: float = 250.0) -> list[Head3D]:
    """One head per cluster of centres closer than ``merge_distance`` mm (pose heads first)."""
    out: list[Head3D] = []
    for h in sorted(heads, key=lambda h: h.kind != "pose"):
        for j, o in enumerate(out):
            if np.linalg.norm(o.centre - h.centre) < merge_distance:
                kind = o.kind if o.kind == h.kind else "pose+boxes"
                out[j] = Head3D(o.centre, max(o.radius, h.radius), tuple(sorted(set(o.views) | set(h.views))), kind)
                break
        else:
            out.append(h)
    return out


def project_head(head: Head3D, cam: Camera) -> np.ndarray | None:
    """(4,) box x1, y1, x2, y2 px of the head in ``cam``; None when behind the camera or outside its frame."""
    depth = cam.depth(head.centre)
    if not depth > 1e-6:
        return None
    u, v = cam.project(head.centre)
    if not (np.isfinite(u) and np.isfinite(v)):
        return None
    r = cam.K[0, 0] * head.radius / depth
    box = np.array([u - r, v - r, u + r, v + r])
    w, h = cam.size
    if box[2] <= 0 or box[3] <= 0 or box[0] >= w or box[1] >= h:
        return None
    return box


def covered_by(box: np.ndarray, own: np.ndarray) -> bool:
    """True when one of the view's own boxes (N, 4) has its centre inside ``box`` (the head was found there too)."""
    own = np.asarray(own, np.float64).reshape(-1, 4)
    if not len(own):
        return False
    cx, cy = (own[:, 0] + own[:, 2]) / 2, (own[:, 1] + own[:, 3]) / 2
    return bool(np.any((cx >= box[0]) & (cx <= box[2]) & (cy >= box[1]) & (cy <= box[3])))
