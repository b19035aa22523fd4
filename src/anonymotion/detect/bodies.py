"""Person masks from MediaPipe segmentation (region source ``body``).

Two bundled MediaPipe models are combined: the multi-person pose model's per-person
segmentation (tight, keeps raised arms and legs; every person the pose model finds, each
with its own mask and person id) and selfie segmentation, landscape model (any
person-like foreground, coarser; catches people the pose model misses). Their union,
thresholded and dilated by a margin, is returned as ``Regions.mask``: full-body
anonymization should err on covering too much. Each person's own mask is listed in
``Regions.mask_parts`` (person id, bounding box, pixels) for the regions log. Small people
far from the camera are often missed by both models.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import cv2
import numpy as np

from anonymotion.types import Regions

if TYPE_CHECKING:
    from anonymotion.config import AnonymizeConfig

log = logging.getLogger(__name__)

MODELS = ("pose", "selfie")


def dilate_mask(mask: np.ndarray, radius: int) -> np.ndarray:
    """Grow an (H, W) bool mask by ``radius`` pixels (elliptical structuring element)."""
    if radius <= 0 or not mask.any():
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


def margin_px(height: int, width: int, share: float = 0.01) -> int:
    """Dilation radius in pixels: ``share`` of the longer frame side, plus 2 px."""
    return int(round(share * max(height, width))) + 2


class PersonSegmenter:
    """Person probabilities per frame from the chosen MediaPipe models.

    models: any of "pose" (the multi-person pose model's per-person masks, with person ids
    from :class:`~anonymotion.track.persons.PersonTracker`) and "selfie" (selfie
    segmentation, landscape model, no persons). Frames must keep one size within a stream.
    """

    def __init__(self, models: tuple[str, ...] = MODELS, num_poses: int = 4) -> None:
        bad = [m for m in models if m not in MODELS]
        if bad or not models:
            raise ValueError(f"segmentation models must be among {MODELS}, not {models}")
        self._pose = None
        self._tracker = None
        self._selfie = None
        if "pose" in models:
            from anonymotion.pose.backend import make_pose_backend
            from anonymotion.track.persons import PersonTracker, mirror_permutation

            self._pose = make_pose_backend("mediapipe-multi", masks=True, num_poses=num_poses)
            self._tracker = PersonTracker(mirror=mirror_permutation(tuple(self._pose.names)))
        if "selfie" in models:
            import mediapipe as mp  # heavy: imported lazily

            self._selfie = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=1)

    def persons(self, rgb: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Person ids (N,) int64 and their masks' probabilities (N, H, W) float32 (pose model)."""
        h, w = rgb.shape[:2]
        if self._pose is None:
            return np.zeros(0, np.int64), np.zeros((0, h, w), np.float32)
        found = self._pose.process_all(np.ascontiguousarray(rgb), t)
        ids = self._tracker.update(found.xy, found.score, t)  # type: ignore[union-attr]
        masks = found.masks if found.masks is not None else np.zeros((len(found), h, w), np.float32)
        return ids, masks

    def background_free(self, rgb: np.ndarray) -> np.ndarray | None:
        """Selfie segmentation's person probability (H, W) float32, or None without that model."""
        if self._selfie is None:
            return None
        seg = self._selfie.process(np.ascontiguousarray(rgb)).segmentation_mask
        return None if seg is None else np.asarray(seg, np.float32)

    def probability(self, rgb: np.ndarray, t: float = 0.0) -> np.ndarray:
        """Person probability (H, W) float32 for an (H, W, 3) uint8 RGB frame: max over all models."""
        _, masks = self.persons(rgb, t)
        prob = masks.max(axis=0) if len(masks) else np.zeros(rgb.shape[:2], np.float32)
        selfie = self.background_free(rgb)
        return prob if selfie is None else np.maximum(prob, selfie)

    def close(self) -> None:
        for model in (self._pose, self._selfie):
            if model is not None:
                model.close()
        self._pose = self._selfie = None


class BodySource:
    """Region source ``body``: every person's mask (probability >= ``threshold``), dilated.

    threshold: probability in (0, 1) (default 0.5); margin: dilation as a share of the
    longer frame side (default 1 %). Temporal safety: each frame's mask is OR-ed with the
    previous frame's, and when the models find nobody, the last mask is kept for ``hold``
    seconds (``config.hold``, default 0.2 s), like the tracker does for face boxes.
    """

    name = "body"

    def __init__(self, config: "AnonymizeConfig | None" = None, *, models: tuple[str, ...] = MODELS,
                 threshold: float = 0.5, margin: float = 0.01) -> None:
        self.segmenter = PersonSegmenter(models)
        self.threshold = threshold
        self.margin = margin
        self.hold = float(getattr(config, "hold", 0.2) or 0.0)
        self._last: tuple[float, np.ndarray] | None = None  # (t, raw mask) of the last frame with a person

    def detect(self, rgb: np.ndarray, t: float) -> Regions:
        """Regions with no boxes, ``mask`` (H, W) bool and one ``mask_parts`` entry per person."""
        from anonymotion.methods.masks import bounding_rect

        h, w = rgb.shape[:2]
        ids, probs = self.segmenter.persons(rgb, t)
        radius = margin_px(h, w, self.margin)
        raw = np.zeros((h, w), bool)
        parts = []
        for pid, prob in zip(ids, probs):
            own = prob >= self.threshold
            if not own.any():
                continue
            raw |= own
            y1, y2, x1, x2 = bounding_rect(own, margin=radius)  # type: ignore[misc]
            parts.append((int(pid), (float(x1), float(y1), float(x2), float(y2)), int(own.sum())))
        selfie = self.segmenter.background_free(rgb)
        if selfie is not None:
            raw |= selfie >= self.threshold
        mask = raw
        if self._last is not None and self._last[1].shape == raw.shape and t - self._last[0] <= self.hold + 1e-6:
            mask = raw | self._last[1]
        if raw.any():
            self._last = (t, raw)
        if not mask.any():
            return Regions.empty()
        mask = dilate_mask(mask, radius)
        empty = Regions.empty()
        return Regions(empty.boxes, empty.scores, empty.track_ids, empty.sources, mask=mask, mask_parts=tuple(parts))

    def close(self) -> None:
        self.segmenter.close()
