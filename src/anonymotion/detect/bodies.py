"""Person masks from MediaPipe segmentation (region source ``body``).

Two bundled MediaPipe models are combined: the pose model's segmentation output (tight,
keeps raised arms and legs of the person it follows) and selfie segmentation, landscape
model (any person-like foreground, coarser). Their union, thresholded and dilated by a
margin, is returned as ``Regions.mask``: full-body anonymization should err on covering
too much. Small people far from the camera are often missed by both models.
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
    """(H, W) float32 person probability in [0, 1] per frame from the chosen MediaPipe models.

    models: any of "pose" (pose segmentation, one tracked person) and "selfie" (selfie
    segmentation, landscape model); the per-pixel maximum is returned. Frames must keep one
    size within a stream (the pose model smooths its mask over time).
    """

    def __init__(self, models: tuple[str, ...] = MODELS) -> None:
        bad = [m for m in models if m not in MODELS]
        if bad or not models:
            raise ValueError(f"segmentation models must be among {MODELS}, not {models}")
        import mediapipe as mp  # heavy: imported lazily

        self._pose = None
        self._selfie = None
        if "pose" in models:
            self._pose = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1,
                                                enable_segmentation=True, smooth_segmentation=True)
        if "selfie" in models:
            self._selfie = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=1)

    def probability(self, rgb: np.ndarray) -> np.ndarray:
        """Person probability (H, W) float32 for an (H, W, 3) uint8 RGB frame."""
        rgb = np.ascontiguousarray(rgb)
        prob = np.zeros(rgb.shape[:2], np.float32)
        if self._pose is not None:
            seg = self._pose.process(rgb).segmentation_mask
            if seg is not None:
                np.maximum(prob, seg, out=prob)
        if self._selfie is not None:
            seg = self._selfie.process(rgb).segmentation_mask
            if seg is not None:
                np.maximum(prob, seg, out=prob)
        return prob

    def close(self) -> None:
        for model in (self._pose, self._selfie):
            if model is not None:
                model.close()
        self._pose = self._selfie = None


class BodySource:
    """Region source ``body``: the person mask (probability >= ``threshold``), dilated.

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
        """Regions with no boxes and ``mask`` (H, W) bool, or empty when no person is found."""
        raw = self.segmenter.probability(rgb) >= self.threshold
        mask = raw
        if self._last is not None and self._last[1].shape == raw.shape and t - self._last[0] <= self.hold + 1e-6:
            mask = raw | self._last[1]
        if raw.any():
            self._last = (t, raw)
        if not mask.any():
            return Regions.empty()
        h, w = mask.shape
        mask = dilate_mask(mask, margin_px(h, w, self.margin))
        empty = Regions.empty()
        return Regions(empty.boxes, empty.scores, empty.track_ids, empty.sources, mask=mask)

    def close(self) -> None:
        self.segmenter.close()
