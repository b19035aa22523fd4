"""Crops that move with a person, and a pose model that follows one person in its crop.

Pose models see a downscaled frame (MediaPipe's person detector: 224 px, landmarks: 256 px),
so a person far from the camera in a large frame is too small to be found. Running the
model on a crop around that person gives it the resolution it needs. The geometry is pure
(:func:`person_crop`, :func:`crop_fits`); :class:`CropFollower` runs a single-person
PoseLandmarker in VIDEO mode on the crop, re-centring the crop only when the person nears
its edge (a crop that does not jitter gives the model the same input on an original and
its anonymized copy).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable

import numpy as np

from anonymotion.pose.backend import PersonsFrame
from anonymotion.pose.skeletons import MEDIAPIPE_33
from anonymotion.track.persons import mirror_permutation

log = logging.getLogger(__name__)

_MIRROR = mirror_permutation(MEDIAPIPE_33)
Box = tuple[float, float, float, float]
Crop = tuple[int, int, int, int]


def keypoint_boxes(xy: np.ndarray) -> np.ndarray:
    """(N, 4) float32 x1, y1, x2, y2 of each person's finite keypoints in (N, K, 2) px (NaN if none)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN persons give NaN boxes
        lo = np.nanmin(xy, axis=1) if xy.size else np.zeros((0, 2), np.float32)
        hi = np.nanmax(xy, axis=1) if xy.size else np.zeros((0, 2), np.float32)
    return np.concatenate([lo, hi], axis=1).astype(np.float32).reshape(-1, 4)


def person_crop(box: Box, margin: float, width: int, height: int, min_aspect: float = 0.6,
                min_side: int = 64) -> Crop:
    """Crop (x1, y1, x2, y2) int px around a person's keypoint ``box``, clipped to the frame.

    Each side grows by ``margin`` x the longer box side; the crop is at least ``min_aspect``
    x its height wide (arms swing out of a standing person's box) and ``min_side`` px each way.
    Tight crops keep other persons out (a one-person model picks the most confident one).
    """
    x1, y1, x2, y2 = box
    grow = margin * max(x2 - x1, y2 - y1)
    ch = max(y2 - y1 + 2 * grow, min_side)
    cw = max(x2 - x1 + 2 * grow, min_aspect * ch, min_side)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    left, top = int(round(max(cx - cw / 2, 0))), int(round(max(cy - ch / 2, 0)))
    right, bottom = int(round(min(cx + cw / 2, width))), int(round(min(cy + ch / 2, height)))
    return left, top, max(right, left + 1), max(bottom, top + 1)


def crop_fits(crop: Crop | None, box: Box, margin: float, width: int, height: int) -> bool:
    """True while ``box`` stays inside ``crop`` with half the margin to spare (frame edges
    excepted) and the crop is at most twice as tall as it would be made now."""
    if crop is None:
        return False
    x1, y1, x2, y2 = crop
    pad = 0.5 * margin * max(box[2] - box[0], box[3] - box[1])
    inside = (box[0] - pad >= x1 or x1 == 0) and (box[1] - pad >= y1 or y1 == 0) \
        and (box[2] + pad <= x2 or x2 == width) and (box[3] + pad <= y2 or y2 == height)
    wanted = (box[3] - box[1]) + 2 * margin * max(box[2] - box[0], box[3] - box[1])
    return bool(inside and (y2 - y1) <= 2.0 * max(wanted, 1.0))


def box_iou(a: np.ndarray | Box, b: np.ndarray | Box) -> float:
    """Intersection over union of two boxes (x1, y1, x2, y2); 0 for empty or NaN boxes."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(0.0, float(iw)) * max(0.0, float(ih)) if np.isfinite([iw, ih]).all() else 0.0
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if np.isfinite(union) and union > 0 else 0.0


def same_person(xy_a: np.ndarray, xy_b: np.ndarray, tolerance: float = 0.15) -> bool:
    """True when two (K, 2) MediaPipe-33 poses are one person: mean keypoint distance (the
    farthest quarter left out, also against the left/right flipped pose, see
    :func:`anonymotion.track.persons.person_cost`) below ``tolerance`` x the larger
    keypoint-box side."""
    from anonymotion.track.persons import person_cost, pose_size

    ones = np.ones(xy_a.shape[0], np.float32)
    size = max(pose_size(xy_a), pose_size(xy_b))
    return person_cost(xy_a, xy_b, ones, ones, size, _MIRROR if xy_a.shape[0] == len(MEDIAPIPE_33) else None) < tolerance


class CropFollower:
    """Follows one person with a one-person pose model on a crop around it.

    make_model: factory of a PoseLandmarkerModel (``process_all``) with ``num_poses=1``;
    box: the person's keypoint box where it was found (full-frame px); margin: see
    :func:`person_crop`. The person must stay the same: a result whose keypoint box
    overlaps the previous one (the candidate's at first) by less than ``min_iou`` is someone
    else. ``lost`` turns True once the person is not found (the caller drops the follower).
    """

    def __init__(self, make_model: Callable[[], object], box: Box, width: int, height: int,
                 margin: float = 0.25, min_iou: float = 0.3) -> None:
        self._model = make_model()
        self.margin = margin
        self.min_iou = min_iou
        self.box: Box = box
        self.crop: Crop = person_crop(box, margin, width, height)
        self.lost = False

    def process(self, rgb: np.ndarray, t: float, want_masks: bool = False) -> PersonsFrame:
        """The followed person in the full (H, W, 3) frame (0 or 1 person), crop updated for the next frame."""
        h, w = rgb.shape[:2]
        x1, y1, x2, y2 = self.crop
        found = self._model.process_all(np.ascontiguousarray(rgb[y1:y2, x1:x2]), t)  # type: ignore[attr-defined]
        xy = found.xy[:1] + np.array([x1, y1], np.float32)
        box = tuple(float(v) for v in keypoint_boxes(xy)[0]) if len(found) else None
        if box is None or box_iou(box, self.box) < self.min_iou:
            if box is not None:
                log.debug("crop follower at %s: found someone else (box %s after %s)", self.crop, box, self.box)
            self.lost = True
            return PersonsFrame.empty(found.xy.shape[1])
        masks = None
        if want_masks and found.masks is not None:
            masks = np.zeros((1, h, w), np.float32)
            masks[0, y1:y2, x1:x2] = found.masks[0]
        self.box = box  # type: ignore[assignment]
        if not crop_fits(self.crop, self.box, self.margin, w, h):
            self.crop = person_crop(self.box, self.margin, w, h)
        return PersonsFrame(xy=xy.astype(np.float32), score=found.score[:1], world=found.world[:1], masks=masks)

    def close(self) -> None:
        self._model.close()  # type: ignore[attr-defined]
