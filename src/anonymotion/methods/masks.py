"""Pixel masks of the regions to anonymize: ellipses or rectangles around boxes."""

from __future__ import annotations

import cv2
import numpy as np

from anonymotion.types import Regions

SHAPES = ("ellipse", "rect")


def scale_boxes(boxes: np.ndarray, scale: float, width: int, height: int) -> np.ndarray:
    """Grow (N, 4) x1, y1, x2, y2 boxes about their centres by ``scale``, clipped to the frame."""
    if boxes.size == 0:
        return boxes.reshape(0, 4).astype(np.float32)
    b = boxes.astype(np.float32)
    cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    hw, hh = (b[:, 2] - b[:, 0]) * scale / 2, (b[:, 3] - b[:, 1]) * scale / 2
    out = np.stack([cx - hw, cy - hh, cx + hw, cy + hh], axis=1)
    out[:, [0, 2]] = out[:, [0, 2]].clip(0, width)
    out[:, [1, 3]] = out[:, [1, 3]].clip(0, height)
    return out


def region_mask(regions: Regions, height: int, width: int, *, shape: str = "ellipse",
                mask_scale: float = 1.3) -> np.ndarray:
    """(H, W) bool mask: the union of every region's shape after scaling, plus ``regions.mask``."""
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {SHAPES}, not {shape!r}")
    mask = np.zeros((height, width), np.uint8)
    for x1, y1, x2, y2 in scale_boxes(regions.boxes, mask_scale, width, height):
        draw_shape(mask, float(x1), float(y1), float(x2), float(y2), shape)
    out = mask.astype(bool)
    if regions.mask is not None:
        out |= regions.mask.astype(bool)
    return out


def draw_shape(mask: np.ndarray, x1: float, y1: float, x2: float, y2: float, shape: str) -> None:
    """Set the (H, W) uint8 ``mask`` to 1 inside the ellipse or rectangle of box x1, y1, x2, y2 (px);
    boxes under 1 px are skipped."""
    if x2 - x1 < 1 or y2 - y1 < 1:
        return
    if shape == "rect":
        mask[int(np.floor(y1)):int(np.ceil(y2)), int(np.floor(x1)):int(np.ceil(x2))] = 1
    else:
        centre = (int(round((x1 + x2) / 2)), int(round((y1 + y2) / 2)))
        axes = (max(1, int(np.ceil((x2 - x1) / 2))), max(1, int(np.ceil((y2 - y1) / 2))))
        cv2.ellipse(mask, centre, axes, 0, 0, 360, 1, thickness=-1)


def bounding_rect(mask: np.ndarray, margin: int = 0) -> tuple[int, int, int, int] | None:
    """Smallest (y1, y2, x1, x2) slice bounds holding every True pixel, grown by ``margin``."""
    ys = np.flatnonzero(mask.any(axis=1))
    if ys.size == 0:
        return None
    xs = np.flatnonzero(mask.any(axis=0))
    h, w = mask.shape
    return (max(0, ys[0] - margin), min(h, ys[-1] + 1 + margin),
            max(0, xs[0] - margin), min(w, xs[-1] + 1 + margin))
